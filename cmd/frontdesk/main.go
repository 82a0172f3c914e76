// Command frontdesk is the Frontdesk binary: `serve` runs the API (and,
// by default, the outbox workers), `worker` runs only the workers,
// `migrate` applies database migrations, `backup` and `restore` copy the
// whole database to and from a backup file, `import customers` brings
// accounts over from the legacy shop.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"frontdesk/app"
	"frontdesk/catalog"
	"frontdesk/config"
)

const usage = `usage: frontdesk <command>

commands:
  serve     run the GraphQL API (applies migrations first unless FRONTDESK_MIGRATE_ON_START=false)
  worker    run only the outbox workers (mail, SMS, integrations, recurring tasks); run
            any number of them beside serve replicas started with FRONTDESK_WORKERS=false
  migrate   apply pending database migrations and exit
  seed      load a demo catalog into an empty database (--products N for a large one)
  backup    write a backup of the database to the backup store and delete the oldest
            beyond FRONTDESK_BACKUP_KEEP; --out FILE writes it to a file instead (- for
            stdout), --list lists the stored backups
  restore   restore a backup (a file, or a name from backup --list) into a freshly
            migrated, empty database; --force replaces the data of a database that has some,
            --dry-run checks the file, the versions and the target and changes nothing
  import customers FILE.csv
            import customer accounts from the legacy shop (docs/authentication.md);
            --dry-run checks and writes nothing, --skip-invalid imports the valid rows,
            --update fills empty fields of existing accounts
  version   print the version
  healthcheck
            exit 0 when the server at FRONTDESK_ADDR answers /readyz with 200 (for
            container HEALTHCHECKs; reads no other setting)

Configuration comes from FRONTDESK_* environment variables; see docs/configuration.md.`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "frontdesk:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	seedProducts := 0
	if args[0] == "seed" {
		fs := flag.NewFlagSet("seed", flag.ContinueOnError)
		fs.IntVar(&seedProducts, "products", 36, "how many products to create")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		args = args[:1]
	}
	var bk backupFlags
	if args[0] == "backup" || args[0] == "restore" {
		var err error
		if bk, err = parseBackupFlags(args); err != nil {
			return fmt.Errorf("%w\n\n%s", err, usage)
		}
		args = args[:1]
	}
	var imp importFlags
	if args[0] == "import" {
		var err error
		if imp, err = parseImportFlags(args); err != nil {
			return fmt.Errorf("%w\n\n%s", err, usage)
		}
		args = args[:1]
	}
	if len(args) != 1 {
		return errors.New(usage)
	}
	switch args[0] {
	case "version":
		fmt.Println(version)
		return nil
	case "healthcheck":
		return healthcheck(context.Background(), os.Getenv)
	case "serve", "worker", "migrate", "seed", "backup", "restore", "import":
	case "help", "-h", "--help":
		fmt.Println(usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n\n%s", args[0], usage)
	}

	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	log := app.NewLogger(os.Stderr, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if args[0] == "migrate" || args[0] == "seed" || args[0] == "restore" {
		cfg.MigrateOnStart = true
	}
	if args[0] == "backup" {
		// A backup never changes the database it copies.
		cfg.MigrateOnStart = false
	}
	a, err := app.New(ctx, cfg, log, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	if args[0] == "migrate" {
		log.Info("database is up to date")
		return nil
	}
	if args[0] == "seed" {
		n, err := a.Catalog.Seed(ctx, catalog.SeedOptions{Products: seedProducts})
		if err != nil {
			return fmt.Errorf("seed (after %d products): %w", n, err)
		}
		log.Info("seeded the demo catalog", "products", n)
		return nil
	}
	if args[0] == "backup" || args[0] == "restore" {
		return runBackup(ctx, a, args[0], bk)
	}
	if args[0] == "import" {
		return runImport(ctx, a, imp, os.Stdout, os.Stderr)
	}
	if args[0] == "worker" {
		return a.Work(ctx)
	}
	ln, err := a.Listen()
	if err != nil {
		return err
	}
	return a.Serve(ctx, ln)
}
