package commerce

import (
	"context"
	"fmt"
	"strings"

	"frontdesk/ent"
	"frontdesk/integrations/mail"
	"frontdesk/notify"
)

// email enqueues a customer email about o inside tx. key makes it send
// once however often the change that owes it is replayed.
func (s *Service) email(ctx context.Context, tx *ent.Tx, o *ent.Order, kind mail.Kind, key string, extra map[string]any) error {
	data := map[string]any{
		"name":        o.ShippingAddress.Name,
		"orderNumber": o.Number,
		"total":       o.Total,
		"currency":    o.Currency,
		"link":        s.orderLink(o),
	}
	for k, v := range extra {
		data[k] = v
	}
	if _, err := notify.Email(ctx, tx, kind, o.Email, data, notify.Key(key)); err != nil {
		return fmt.Errorf("enqueue %s email: %w", kind, err)
	}
	return nil
}

func (s *Service) orderLink(o *ent.Order) string {
	if s.opts.OrderURL == "" {
		return ""
	}
	return strings.ReplaceAll(s.opts.OrderURL, "%s", o.Number)
}
