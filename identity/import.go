package identity

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/user"
	"frontdesk/errcode"
)

// ImportColumns are the columns a customer import file may have, in the
// order the docs list them; only email is required.
var ImportColumns = []string{"email", "name", "phone", "password_hash", "created_at", "email_verified"}

// ImportOptions change how ImportCustomers treats a file.
type ImportOptions struct {
	// SkipInvalid imports the valid rows of a file that has invalid ones;
	// without it, one invalid row means nothing is written.
	SkipInvalid bool
	// Update fills the empty fields of existing customer accounts from
	// the file instead of skipping them; nothing set is overwritten.
	Update bool
	// DryRun checks the file against the database and writes nothing.
	DryRun bool
	// Source names the file in the audit log.
	Source string
}

// ImportRowError is why one row of an import file was refused.
type ImportRowError struct {
	Line   int // line of the file, counting the header as 1
	Email  string
	Reason string
}

func (e ImportRowError) String() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// ImportReport counts what ImportCustomers did (or, in a dry run, would do).
type ImportReport struct {
	Read            int // data rows in the file
	Created         int
	Updated         int // existing accounts that had empty fields filled (Update)
	SkippedExisting int // rows whose email already has an account
	Invalid         []ImportRowError
	// WithoutPassword counts created accounts that got no password, their
	// hash being absent or in no accepted format: they must reset it.
	WithoutPassword int
	DryRun          bool
}

// ErrImportInvalid is returned, with the report, when invalid rows kept
// the import from writing anything.
var ErrImportInvalid = errcode.Invalidf(errcode.Invalid, "file", "the file has invalid rows; nothing was imported")

// importRow is one valid row, normalised.
type importRow struct {
	line      int
	email     string
	name      string
	phone     *string
	hash      *string
	createdAt time.Time // zero when not given
	verified  bool
}

// importBatch is how many rows one INSERT or lookup carries: far below
// the placeholder limits of SQLite (32766) and MySQL (65535).
const importBatch = 500

// ImportCustomers imports customer accounts from the legacy shop, read as
// CSV with a header row naming columns from ImportColumns. Every row is
// checked with the rules of registration; an email that already has an
// account is skipped (or, with Update, only its empty fields are filled),
// so importing a file twice changes nothing. Without SkipInvalid, any
// invalid row means nothing is written and the error is ErrImportInvalid.
// All writes and the audit entry are one transaction.
//
// Accounts are always customers. A password hash is kept when it is
// bcrypt or argon2id (see VerifyPassword), and the customer signs in with
// the password they know; any other is dropped and the customer claims
// the account with a password reset.
func (s *Service) ImportCustomers(ctx context.Context, r io.Reader, opts ImportOptions) (*ImportReport, error) {
	rows, rep, err := s.readImport(r)
	if err != nil {
		return nil, err
	}
	rep.DryRun = opts.DryRun
	if len(rep.Invalid) > 0 && (!opts.SkipInvalid || len(rows) == 0) {
		return rep, ErrImportInvalid
	}
	err = database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		// A retried transaction counts its rows afresh.
		rep.Created, rep.Updated, rep.SkippedExisting, rep.WithoutPassword = 0, 0, 0, 0
		if err := s.importRows(ctx, tx.Client(), rows, rep, opts); err != nil {
			return err
		}
		if opts.DryRun || rep.Created+rep.Updated == 0 {
			return nil // a dry run or a re-run leaves no trace
		}
		return Audit(ctx, tx.Client(), AuditRecord{
			Action: "user.import", TargetType: "User",
			After: map[string]any{
				"source": opts.Source, "read": rep.Read, "created": rep.Created, "updated": rep.Updated,
				"skippedExisting": rep.SkippedExisting, "invalid": len(rep.Invalid), "withoutPassword": rep.WithoutPassword,
			},
		})
	})
	if ent.IsConstraintError(err) {
		return nil, fmt.Errorf("import customers: an account was created meanwhile with an email of the file; nothing was imported, run the import again: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("import customers: %w", err)
	}
	return rep, nil
}

// readImport reads and checks the whole file. Header problems are an
// error; row problems are listed in the report.
func (s *Service) readImport(r io.Reader) ([]importRow, *ImportReport, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, errcode.Invalidf(errcode.Required, "file", "the file is empty; it needs a header row naming its columns")
	}
	if err != nil {
		return nil, nil, errcode.Invalidf(errcode.Invalid, "file", "cannot read the header row: "+err.Error())
	}
	col, err := importHeader(header)
	if err != nil {
		return nil, nil, err
	}
	rep := &ImportReport{}
	var rows []importRow
	seen := map[string]int{} // email → line
	now := s.now()
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) && !errors.Is(err, csv.ErrFieldCount) {
			// The quoting is broken: where the next row starts is unknown.
			return nil, nil, errcode.Invalidf(errcode.Invalid, "file", fmt.Sprintf("line %d: %v; fix the quoting, then import again", pe.Line, pe.Err))
		}
		if err != nil && !errors.Is(err, csv.ErrFieldCount) {
			return nil, nil, fmt.Errorf("read the file: %w", err)
		}
		line, _ := cr.FieldPos(0)
		rep.Read++
		if err != nil {
			rep.Invalid = append(rep.Invalid, ImportRowError{Line: line, Reason: fmt.Sprintf("has %d fields, the header %d", len(rec), len(header))})
			continue
		}
		row, reason := parseImportRow(rec, col, now)
		row.line = line
		if reason == "" {
			if first, dup := seen[row.email]; dup {
				reason = fmt.Sprintf("email %s is already on line %d (emails are compared ignoring case); merge the two", row.email, first)
			} else {
				seen[row.email] = line
			}
		}
		if reason != "" {
			rep.Invalid = append(rep.Invalid, ImportRowError{Line: line, Email: row.email, Reason: reason})
			continue
		}
		rows = append(rows, row)
	}
	return rows, rep, nil
}

// importHeader maps column names to positions, refusing unknown,
// repeated and missing required ones.
func importHeader(header []string) (map[string]int, error) {
	known := map[string]bool{}
	for _, c := range ImportColumns {
		known[c] = true
	}
	col := map[string]int{}
	var unknown, repeated []string
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // spreadsheets' byte-order mark
		}
		h = strings.ToLower(strings.TrimSpace(h))
		switch _, dup := col[h]; {
		case !known[h]:
			unknown = append(unknown, strconv.Quote(h))
		case dup:
			repeated = append(repeated, h)
		default:
			col[h] = i
		}
	}
	var errs errcode.UserErrors
	if len(unknown) > 0 {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "file", fmt.Sprintf("unknown columns %s; the columns are %s",
			strings.Join(unknown, ", "), strings.Join(ImportColumns, ", "))))
	}
	if len(repeated) > 0 {
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "file", "repeated columns "+strings.Join(repeated, ", ")))
	}
	if _, ok := col["email"]; !ok {
		errs = append(errs, errcode.Invalidf(errcode.Required, "file", "the header has no email column"))
	}
	return col, errs.OrNil()
}

// parseImportRow checks one record; reason is empty when it is valid.
func parseImportRow(rec []string, col map[string]int, now time.Time) (row importRow, reason string) {
	get := func(name string) string {
		if i, ok := col[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var errs errcode.UserErrors
	email, err := ParseEmail(get("email"), "email")
	addErr(&errs, err)
	row.email = string(email)
	if row.email == "" {
		row.email = get("email")
	}
	row.name, err = cleanName(get("name"), "name")
	addErr(&errs, err)
	if p := get("phone"); p != "" {
		phone, err := ParsePhone(p, "phone")
		addErr(&errs, err)
		row.phone = (*string)(&phone)
	}
	if h := get("password_hash"); usableImportHash(h) {
		row.hash = &h
	}
	if v := get("created_at"); v != "" && v != "0000-00-00 00:00:00" && v != "0000-00-00" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			t, err = time.Parse(time.DateTime, v) // MySQL DATETIME, read as UTC
		}
		switch {
		case err != nil:
			errs = append(errs, errcode.Invalidf(errcode.Invalid, "created_at", "give the time as 2019-03-02T10:00:00Z or 2019-03-02 10:00:00"))
		case t.After(now):
			errs = append(errs, errcode.Invalidf(errcode.Invalid, "created_at", "is in the future"))
		default:
			row.createdAt = t.UTC().Truncate(time.Microsecond)
		}
	}
	switch v := strings.ToLower(get("email_verified")); v {
	case "", "0", "false", "f", "no", "n":
	case "1", "true", "t", "yes", "y":
		row.verified = true
	default:
		errs = append(errs, errcode.Invalidf(errcode.Invalid, "email_verified", "give true or false (or 1 or 0)"))
	}
	if len(errs) > 0 {
		return row, errs.Error()
	}
	return row, ""
}

// usableImportHash reports whether h is a hash VerifyPassword can check:
// a well-formed bcrypt hash of a bearable cost, or argon2id.
func usableImportHash(h string) bool {
	if IsLegacyHash(h) {
		if len(h) != 60 || strings.Trim(h[7:], "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
			return false
		}
		cost, err := bcrypt.Cost([]byte("$2b$" + h[4:]))
		return err == nil && cost <= maxBcryptCost
	}
	_, _, _, err := decodeHash(h)
	return err == nil && len(h) <= 255
}

// importRows writes rows in batches: a lookup of which emails have
// accounts, then one INSERT for the rest.
func (s *Service) importRows(ctx context.Context, client *ent.Client, rows []importRow, rep *ImportReport, opts ImportOptions) error {
	now := s.now()
	for start := 0; start < len(rows); start += importBatch {
		batch := rows[start:min(start+importBatch, len(rows))]
		emails := make([]string, len(batch))
		for i, r := range batch {
			emails[i] = r.email
		}
		existing, err := client.User.Query().Where(user.EmailIn(emails...)).All(ctx)
		if err != nil {
			return fmt.Errorf("find existing accounts: %w", err)
		}
		byEmail := make(map[string]*ent.User, len(existing))
		for _, u := range existing {
			byEmail[u.Email] = u
		}
		creates := make([]*ent.UserCreate, 0, len(batch))
		for _, r := range batch {
			if u := byEmail[r.email]; u != nil {
				updated := false
				if opts.Update {
					if updated, err = fillEmpty(ctx, client, u, r, now, opts.DryRun); err != nil {
						return err
					}
				}
				if updated {
					rep.Updated++
				} else {
					rep.SkippedExisting++
				}
				continue
			}
			c := client.User.Create().SetEmail(r.email).SetName(r.name).SetRole(user.RoleCUSTOMER).
				SetNillablePhone(r.phone).SetNillablePasswordHash(r.hash).SetUpdatedAt(now)
			if !r.createdAt.IsZero() {
				c.SetCreatedAt(r.createdAt)
			}
			if r.verified {
				c.SetEmailVerifiedAt(now)
			}
			if r.hash == nil {
				rep.WithoutPassword++
			}
			creates = append(creates, c)
		}
		rep.Created += len(creates)
		if len(creates) > 0 && !opts.DryRun {
			if err := client.User.CreateBulk(creates...).Exec(ctx); err != nil {
				return fmt.Errorf("create accounts (lines %d-%d): %w", batch[0].line, batch[len(batch)-1].line, err)
			}
		}
	}
	return nil
}

// fillEmpty gives an existing customer account the name and phone of r
// where it has none. A password and the verification are given only to
// an account without a password (a guest) and only when the legacy shop
// had verified the address: otherwise whoever typed the email into the
// legacy shop could take over the guest's bookings and orders. Staff
// accounts are never touched.
func fillEmpty(ctx context.Context, client *ent.Client, u *ent.User, r importRow, now time.Time, dryRun bool) (bool, error) {
	if u.Role != user.RoleCUSTOMER {
		return false, nil
	}
	m := client.User.UpdateOne(u)
	changed := false
	if u.Name == "" && r.name != "" {
		m.SetName(r.name)
		changed = true
	}
	if u.Phone == nil && r.phone != nil {
		m.SetPhone(*r.phone)
		changed = true
	}
	if u.PasswordHash == nil && r.hash != nil && r.verified {
		m.SetPasswordHash(*r.hash)
		changed = true
	}
	if u.EmailVerifiedAt == nil && r.verified {
		m.SetEmailVerifiedAt(now)
		changed = true
	}
	if !changed || dryRun {
		return changed, nil
	}
	if err := m.Exec(ctx); err != nil {
		return false, fmt.Errorf("update %s: %w", u.ID, err)
	}
	return true, nil
}
