// Package backup writes and reads consistent, portable snapshots of the
// whole Frontdesk database, and keeps them in a store (a local directory
// or S3) with a retention limit. The worker makes one on a schedule;
// `frontdesk backup` and `frontdesk restore` drive it by hand.
//
// A backup is a ZIP archive: one JSON-lines entry per table
// (tables/<name>.jsonl, one JSON array of column values per row, ordered
// by primary key) and manifest.json, written last, that names the format
// version, the dialect and schema version it came from, when it was
// taken, and each table's columns, row count and SHA-256. Values are
// written by column type, not as the driver returns them (times as
// RFC 3339 in UTC, booleans as true/false, JSON columns as their text), so
// a backup of the embedded SQLite store restores into MySQL/MariaDB and
// the other way round.
package backup

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"

	"frontdesk/database"
	"frontdesk/ent/migrate"
)

// FormatVersion is the archive layout this package writes and reads.
const FormatVersion = 1

// Errors a restore (or a backup) refuses with. Each is wrapped with the
// details an operator needs.
var (
	// ErrCorrupt: the file is not a complete, unaltered backup.
	ErrCorrupt = errors.New("backup file is damaged, truncated or not a Frontdesk backup")
	// ErrVersion: the backup was taken at another schema version (or in
	// a newer format) than this binary's.
	ErrVersion = errors.New("backup schema version does not match this binary")
	// ErrSchema: the database is not at this binary's schema version.
	ErrSchema = errors.New("database schema does not match this binary")
	// ErrNotEmpty: the target database holds data and --force was not given.
	ErrNotEmpty = errors.New("target database is not empty")
	// ErrNotFound: no backup of that name in the store.
	ErrNotFound = errors.New("no such backup")
)

// Manifest describes a backup; it is the archive's manifest.json.
type Manifest struct {
	Format      int    `json:"format"`
	Application string `json:"application"`
	// CreatedAt is when the snapshot was taken.
	CreatedAt time.Time `json:"created_at"`
	// Dialect is the store it came from: "sqlite" or "mysql".
	Dialect string `json:"dialect"`
	// SchemaVersion is the last migration applied to that store, from
	// its migration revisions (database.RevisionTable).
	SchemaVersion string      `json:"schema_version"`
	Tables        []TableInfo `json:"tables"`
	// Checksum is the SHA-256 of the table list (name, rows, sha256 per
	// line); it identifies the backup's content in one value.
	Checksum string `json:"checksum"`
}

// TableInfo describes one table entry.
type TableInfo struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Rows    int64    `json:"rows"`
	// SHA256 is the hex digest of the entry's uncompressed bytes.
	SHA256 string `json:"sha256"`
}

// Rows is the total row count.
func (m *Manifest) Rows() int64 {
	var n int64
	for _, t := range m.Tables {
		n += t.Rows
	}
	return n
}

func (m *Manifest) checksum() string {
	h := sha256.New()
	for _, t := range m.Tables {
		fmt.Fprintf(h, "%s\t%d\t%s\n", t.Name, t.Rows, t.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

const (
	manifestEntry = "manifest.json"
	tablePrefix   = "tables/"
	tableSuffix   = ".jsonl"
	application   = "frontdesk"
)

func tableEntry(name string) string { return tablePrefix + name + tableSuffix }

// dialectName is the manifest's name for a dialect.
func dialectName(d string) string {
	if d == dialect.MySQL {
		return "mysql"
	}
	return "sqlite"
}

func entDialect(name string) (string, bool) {
	switch name {
	case "mysql":
		return dialect.MySQL, true
	case "sqlite":
		return dialect.SQLite, true
	}
	return "", false
}

// schemaVersion is this binary's last migration for a dialect.
func schemaVersion(d string) (string, error) {
	all, err := database.Migrations(d)
	if err != nil {
		return "", err
	}
	if len(all) == 0 {
		return "", errors.New("backup: this binary has no migrations")
	}
	return all[len(all)-1].Version, nil
}

// tables are the tables a backup holds: every table of the ent schema.
// The migration revisions are described by the manifest instead (its rows are
// per dialect), and SQLite's full-text index is rebuilt by its triggers.
func tables() []*schema.Table { return migrate.Tables }

// quote quotes an identifier; MySQL and SQLite both accept backticks.
func quote(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// encode turns a value as the driver returned it into its portable JSON
// form for a column of type t.
func encode(t field.Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := v.([]byte); ok && t != field.TypeBytes {
		v = string(b)
	}
	switch t {
	case field.TypeBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		case string:
			return strconv.ParseBool(x)
		}
	case field.TypeInt, field.TypeInt8, field.TypeInt16, field.TypeInt32, field.TypeInt64,
		field.TypeUint, field.TypeUint8, field.TypeUint16, field.TypeUint32, field.TypeUint64:
		switch x := v.(type) {
		case int64:
			return x, nil
		case uint64:
			return x, nil
		case string:
			if _, err := strconv.ParseInt(x, 10, 64); err != nil {
				return nil, err
			}
			return json.Number(x), nil
		}
	case field.TypeFloat32, field.TypeFloat64:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case string:
			return strconv.ParseFloat(x, 64)
		}
	case field.TypeTime:
		switch x := v.(type) {
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano), nil
		case string:
			tm, err := parseStoredTime(x)
			if err != nil {
				return nil, err
			}
			return tm.UTC().Format(time.RFC3339Nano), nil
		}
	case field.TypeBytes:
		if x, ok := v.([]byte); ok {
			return base64.StdEncoding.EncodeToString(x), nil
		}
		if x, ok := v.(string); ok {
			return base64.StdEncoding.EncodeToString([]byte(x)), nil
		}
	default: // strings, enums, JSON, UUIDs
		if x, ok := v.(string); ok {
			return x, nil
		}
	}
	return nil, fmt.Errorf("unexpected %T for a %s column", v, t)
}

// parseStoredTime reads a time the driver left as text.
func parseStoredTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable time %q", s)
}

// decode turns a portable JSON value back into what the driver takes for
// a column of type t, the same Go types ent writes with.
func decode(t field.Type, v any, targetDialect string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t {
	case field.TypeBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case field.TypeInt, field.TypeInt8, field.TypeInt16, field.TypeInt32, field.TypeInt64,
		field.TypeUint, field.TypeUint8, field.TypeUint16, field.TypeUint32, field.TypeUint64:
		if n, ok := v.(json.Number); ok {
			return n.Int64()
		}
	case field.TypeFloat32, field.TypeFloat64:
		if n, ok := v.(json.Number); ok {
			return n.Float64()
		}
	case field.TypeTime:
		if s, ok := v.(string); ok {
			tm, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, err
			}
			tm = tm.UTC()
			if targetDialect == dialect.MySQL {
				// DATETIME(6): cut, rather than let MySQL 8 round and
				// MariaDB truncate.
				tm = tm.Truncate(time.Microsecond)
			}
			return tm, nil
		}
	case field.TypeBytes:
		if s, ok := v.(string); ok {
			return base64.StdEncoding.DecodeString(s)
		}
	case field.TypeJSON:
		// ent writes JSON columns as bytes.
		if s, ok := v.(string); ok {
			return []byte(s), nil
		}
	default:
		if s, ok := v.(string); ok {
			return s, nil
		}
	}
	return nil, fmt.Errorf("unexpected %T for a %s column", v, t)
}
