package identity

import (
	"context"
	"fmt"
	"strings"

	"entgo.io/ent/dialect/sql"

	"frontdesk/ent"
	"frontdesk/ent/user"
	"frontdesk/gid"
)

// The user table is identity's. These are the reads other domains need of
// it (booking's messages and staff search, the calendar event's subject,
// the EHR patient), so that none of them queries the table itself.

// Contact is how to reach an account's holder.
type Contact struct {
	Name  string
	Email string
	// Phone is E.164, or empty when the account has none.
	Phone string
}

// ContactOf returns the contact details of account id, or
// ErrUserNotFound.
func ContactOf(ctx context.Context, client *ent.Client, id gid.ID) (Contact, error) {
	u, err := client.User.Query().Where(user.ID(id)).
		Select(user.FieldName, user.FieldEmail, user.FieldPhone).Only(ctx)
	if ent.IsNotFound(err) {
		return Contact{}, ErrUserNotFound
	}
	if err != nil {
		return Contact{}, fmt.Errorf("load contact of %s: %w", id, err)
	}
	c := Contact{Name: u.Name, Email: u.Email}
	if u.Phone != nil {
		c.Phone = *u.Phone
	}
	return c, nil
}

// NamesOf returns the names of the accounts ids that exist, in one query.
func NamesOf(ctx context.Context, client *ent.Client, ids []gid.ID) (map[gid.ID]string, error) {
	var rows []struct {
		ID   gid.ID `json:"id"`
		Name string `json:"name"`
	}
	if err := client.User.Query().Where(user.IDIn(ids...)).Select(user.FieldID, user.FieldName).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("load names: %w", err)
	}
	out := make(map[gid.ID]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}

// AccountsMatching is a subquery of the IDs of the accounts whose name
// contains text in any case, whose email contains it lower-cased (emails
// are stored lower-case), or whose phone contains it without spaces
// (phones are stored E.164). Another domain's query embeds it, so a
// search across both stays one statement.
func AccountsMatching(dialect, text string) *sql.Selector {
	t := sql.Table(user.Table)
	sub := sql.Dialect(dialect).Select(t.C(user.FieldID)).From(t)
	email, phone := strings.ToLower(text), strings.ReplaceAll(text, " ", "")
	user.Or(user.NameContainsFold(text), user.EmailContains(email), user.PhoneContains(phone))(sub)
	return sub
}
