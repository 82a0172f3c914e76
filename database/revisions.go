package database

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	atlasschema "ariga.io/atlas/sql/schema"
)

// revisions stores Atlas's migration revisions in RevisionTable, through
// the connection or transaction the migration runs on. The columns are
// Atlas's own; the SQL is the subset SQLite and MySQL share (backticks,
// REPLACE INTO), so one implementation serves both.
type revisions struct {
	db atlasschema.ExecQuerier
}

var _ atlasmigrate.RevisionReadWriter = (*revisions)(nil)

const revisionColumns = "`version`, `description`, `type`, `applied`, `total`, `executed_at`, `execution_time`, " +
	"`error`, `error_stmt`, `hash`, `partial_hashes`, `operator_version`"

func (r *revisions) create(ctx context.Context) error {
	_, err := r.db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+RevisionTable+` (
		`+"`version`"+` VARCHAR(255) NOT NULL PRIMARY KEY,
		`+"`description`"+` VARCHAR(255) NOT NULL,
		`+"`type`"+` INTEGER NOT NULL,
		`+"`applied`"+` INTEGER NOT NULL,
		`+"`total`"+` INTEGER NOT NULL,
		`+"`executed_at`"+` VARCHAR(40) NOT NULL,
		`+"`execution_time`"+` BIGINT NOT NULL,
		`+"`error`"+` TEXT NULL,
		`+"`error_stmt`"+` TEXT NULL,
		`+"`hash`"+` VARCHAR(255) NOT NULL,
		`+"`partial_hashes`"+` TEXT NULL,
		`+"`operator_version`"+` VARCHAR(255) NOT NULL)`)
	if err != nil {
		return fmt.Errorf("migrate: create %s: %w", RevisionTable, err)
	}
	return nil
}

// Ident implements atlasmigrate.RevisionReadWriter; Atlas leaves this
// table out when it checks that a new database is empty.
func (r *revisions) Ident() *atlasmigrate.TableIdent {
	return &atlasmigrate.TableIdent{Name: RevisionTable}
}

// ReadRevisions implements atlasmigrate.RevisionReadWriter.
func (r *revisions) ReadRevisions(ctx context.Context) ([]*atlasmigrate.Revision, error) {
	return r.query(ctx, "SELECT "+revisionColumns+" FROM "+RevisionTable+" ORDER BY `version`")
}

// ReadRevision implements atlasmigrate.RevisionReadWriter.
func (r *revisions) ReadRevision(ctx context.Context, version string) (*atlasmigrate.Revision, error) {
	revs, err := r.query(ctx, "SELECT "+revisionColumns+" FROM "+RevisionTable+" WHERE `version` = ?", version)
	if err != nil {
		return nil, err
	}
	if len(revs) == 0 {
		return nil, atlasmigrate.ErrRevisionNotExist
	}
	return revs[0], nil
}

// WriteRevision implements atlasmigrate.RevisionReadWriter. REPLACE is
// one atomic statement in both dialects, so a crash never loses the row.
func (r *revisions) WriteRevision(ctx context.Context, rev *atlasmigrate.Revision) error {
	partial, err := json.Marshal(rev.PartialHashes)
	if err != nil {
		return err
	}
	_, err = r.db.ExecContext(ctx, "REPLACE INTO "+RevisionTable+" ("+revisionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		rev.Version, rev.Description, int64(rev.Type), rev.Applied, rev.Total,
		rev.ExecutedAt.UTC().Format(time.RFC3339Nano), int64(rev.ExecutionTime),
		rev.Error, rev.ErrorStmt, rev.Hash, string(partial), rev.OperatorVersion)
	if err != nil {
		return fmt.Errorf("migrate: record revision %s: %w", rev.Version, err)
	}
	return nil
}

// DeleteRevision implements atlasmigrate.RevisionReadWriter.
func (r *revisions) DeleteRevision(ctx context.Context, version string) error {
	if _, err := r.db.ExecContext(ctx, "DELETE FROM "+RevisionTable+" WHERE `version` = ?", version); err != nil {
		return fmt.Errorf("migrate: delete revision %s: %w", version, err)
	}
	return nil
}

func (r *revisions) query(ctx context.Context, q string, args ...any) ([]*atlasmigrate.Revision, error) {
	rows, err := r.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("migrate: read %s: %w", RevisionTable, err)
	}
	defer rows.Close()
	var out []*atlasmigrate.Revision
	for rows.Next() {
		var (
			rev                   atlasmigrate.Revision
			typ, execTime         int64
			executedAt            string
			errText, errStmt, phs sql.NullString
		)
		if err := rows.Scan(&rev.Version, &rev.Description, &typ, &rev.Applied, &rev.Total, &executedAt, &execTime,
			&errText, &errStmt, &rev.Hash, &phs, &rev.OperatorVersion); err != nil {
			return nil, fmt.Errorf("migrate: read %s: %w", RevisionTable, err)
		}
		rev.Type = atlasmigrate.RevisionType(typ)
		rev.ExecutionTime = time.Duration(execTime)
		rev.Error, rev.ErrorStmt = errText.String, errStmt.String
		if rev.ExecutedAt, err = time.Parse(time.RFC3339Nano, executedAt); err != nil {
			return nil, fmt.Errorf("migrate: revision %s: executed_at %q: %w", rev.Version, executedAt, err)
		}
		if phs.Valid && phs.String != "" && phs.String != "null" {
			if err := json.Unmarshal([]byte(phs.String), &rev.PartialHashes); err != nil {
				return nil, fmt.Errorf("migrate: revision %s: partial hashes: %w", rev.Version, err)
			}
		}
		out = append(out, &rev)
	}
	if err := rows.Err(); err != nil {
		return nil, errors.Join(fmt.Errorf("migrate: read %s", RevisionTable), err)
	}
	return out, nil
}
