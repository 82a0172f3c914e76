package webhooks

import (
	"context"

	"frontdesk/ent"
	"frontdesk/identity"
)

// ViewRules are the outgoing webhooks' read rules (see
// identity.ViewRule): endpoints, deliveries and attempts to those who
// manage webhooks, an API key only to the endpoints it created.
func ViewRules(client *ent.Client) []identity.ViewRule {
	return []identity.ViewRule{
		identity.Rule(func(ctx context.Context, e *ent.WebhookEndpoint) bool { return CanView(ctx, client, e.ID) }),
		identity.Rule(func(ctx context.Context, d *ent.WebhookDelivery) bool {
			if v, err := manager(ctx); err == nil && v.APIKeyID == "" {
				return true // a person managing webhooks sees every delivery: no read
			}
			return CanViewDelivery(ctx, client, d.ID)
		}),
		identity.Rule(func(ctx context.Context, a *ent.WebhookAttempt) bool {
			if v, err := manager(ctx); err == nil && v.APIKeyID == "" {
				return true
			}
			id := a.DeliveryID
			if id == "" { // a query may read only some columns
				row, err := client.WebhookAttempt.Get(ctx, a.ID)
				if err != nil {
					return false
				}
				id = row.DeliveryID
			}
			return CanViewDelivery(ctx, client, id)
		}).Within("WebhookDelivery"),
	}
}
