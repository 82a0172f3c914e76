package database

import (
	"context"
	"io/fs"
)

// MigrateFS applies the migrations of fsys (laid out like package
// migrations: sqlite/ and mysql/ with atlas.sum), so tests can edit them.
func (d *DB) MigrateFS(ctx context.Context, fsys fs.FS) ([]string, error) {
	return d.migrate(ctx, fsys)
}
