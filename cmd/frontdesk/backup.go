package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"frontdesk/app"
	"frontdesk/backup"
)

type backupFlags struct {
	out    string
	list   bool
	force  bool
	dryRun bool
	source string
}

func parseBackupFlags(args []string) (backupFlags, error) {
	var f backupFlags
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	if args[0] == "backup" {
		fs.StringVar(&f.out, "out", "", "write the backup to this file (- for stdout) instead of the backup store")
		fs.BoolVar(&f.list, "list", false, "list the backups in the backup store, newest first")
	} else {
		fs.BoolVar(&f.force, "force", false, "replace the data of a database that is not empty")
		fs.BoolVar(&f.dryRun, "dry-run", false, "check the backup, the versions and the target, and change nothing")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return f, err
	}
	switch {
	case args[0] == "restore" && fs.NArg() != 1:
		return f, errors.New("restore needs one backup: a file, or a name from `frontdesk backup --list`")
	case args[0] == "backup" && fs.NArg() != 0:
		return f, fmt.Errorf("backup takes no arguments (got %q)", fs.Args())
	case f.list && f.out != "":
		return f, errors.New("backup: --list and --out do not go together")
	}
	f.source = fs.Arg(0)
	return f, nil
}

func runBackup(ctx context.Context, a *app.App, cmd string, f backupFlags) error {
	switch {
	case cmd == "restore":
		m, err := a.Backup.Restore(ctx, f.source, backup.RestoreOptions{Force: f.force, DryRun: f.dryRun})
		if err != nil {
			return err
		}
		summary := fmt.Sprintf("%d rows in %d tables, taken %s from %s at schema %s (checksum %s)",
			m.Rows(), len(m.Tables), m.CreatedAt.Format(time.RFC3339), m.Dialect, m.SchemaVersion, m.Checksum)
		if f.dryRun {
			fmt.Printf("%s can be restored here: %s; nothing was changed\n", f.source, summary)
			return nil
		}
		// Cached catalog reads (in Redis, shared) are retired; other
		// caches are per process or expire within a minute.
		if err := a.Catalog.Invalidate(ctx); err != nil {
			return fmt.Errorf("restored, but: %w", err)
		}
		fmt.Printf("restored %s: %s\n", f.source, summary)
		return nil
	case f.list:
		list, err := a.Backup.List(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tSIZE\tSTORED")
		for _, b := range list {
			fmt.Fprintf(w, "%s\t%d\t%s\n", b.Name, b.Size, b.Modified.UTC().Format(time.RFC3339))
		}
		return w.Flush()
	case f.out != "":
		m, err := writeFile(ctx, a, f.out)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s: %d rows in %d tables (checksum %s)\n", f.out, m.Rows(), len(m.Tables), m.Checksum)
		return nil
	default:
		b, m, err := a.Backup.Run(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("stored %s: %d bytes, %d rows in %d tables (checksum %s)\n", b.Name, b.Size, m.Rows(), len(m.Tables), m.Checksum)
		return nil
	}
}

// writeFile writes a backup to path through a temporary file renamed
// into place, so path never holds half a backup; an existing file is
// not overwritten.
func writeFile(ctx context.Context, a *app.App, path string) (*backup.Manifest, error) {
	if path == "-" {
		return backup.Write(ctx, a.DB, os.Stdout, time.Now())
	}
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("backup: %s exists; choose another name", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".frontdesk-backup-*")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename
	m, err := backup.Write(ctx, a.DB, tmp, time.Now())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), path) // fails if path appeared meanwhile
	}
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}
