// Command frontdesk is the Frontdesk binary: `serve` runs the API (and,
// by default, the outbox workers), `worker` runs only the workers,
// `migrate` applies database migrations, `backup` and `restore` copy the
// whole database to and from a backup file, `import customers` brings
// accounts over from the legacy shop, `users` creates accounts of any
// role and changes roles (the first admin).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"frontdesk/app"
	"frontdesk/config"
)

const usage = `usage: frontdesk <command>

commands:
  serve     run the GraphQL API (applies migrations first unless FRONTDESK_MIGRATE_ON_START=false)
  worker    run only the outbox workers (mail, SMS, integrations, recurring tasks); run
            any number of them beside serve replicas started with FRONTDESK_WORKERS=false
  migrate   apply pending database migrations and exit
  seed      load the demo (development only): catalog with pictures, shipping, GST, a
            discount code, the Initial and Follow-up consultations with practitioners,
            hours and an intake form, and one account per role; prints the demo
            credentials. Parts already there are left alone (--products N: catalog size)
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
  users create --email EMAIL --name NAME --role ADMIN|STAFF|PRACTITIONER|CUSTOMER [--no-password]
            create an account; the password is read from standard input (its first
            line) or prompted for on a terminal, never taken as an argument;
            --no-password prints a one-time set-password link instead
  documents register --client NAME FILE.json
            register a client's trusted documents from its Relay or Apollo
            persisted-operation manifest (docs/authentication.md)
  users set-role EMAIL ROLE
            change an account's role (ADMIN, STAFF, PRACTITIONER or CUSTOMER)
  version   print the version
  healthcheck
            exit 0 when the server at FRONTDESK_ADDR answers /readyz with 200 (for
            container HEALTHCHECKs; reads no other setting)

Configuration comes from FRONTDESK_* environment variables; see docs/configuration.md.
Exit status: 0 done, 2 the command line or its input was refused (nothing changed),
1 anything else failed.`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	err := run(os.Args[1:])
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "frontdesk:", err)
	var ue usageError
	if errors.As(err, &ue) {
		os.Exit(2)
	}
	os.Exit(1)
}

func run(args []string) error {
	return runIO(args, stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr})
}

func runIO(args []string, std stdio) error {
	if len(args) == 0 {
		return usageError{errors.New(usage)}
	}
	seedProducts := 0
	if args[0] == "seed" {
		fs := flag.NewFlagSet("seed", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.IntVar(&seedProducts, "products", 36, "how many products to create")
		if err := fs.Parse(args[1:]); err != nil {
			return usagef("seed: %v\n\n%s", err, usage)
		}
		args = args[:1]
	}
	var bk backupFlags
	if args[0] == "backup" || args[0] == "restore" {
		var err error
		if bk, err = parseBackupFlags(args); err != nil {
			return usagef("%w\n\n%s", err, usage)
		}
		args = args[:1]
	}
	var imp importFlags
	if args[0] == "import" {
		var err error
		if imp, err = parseImportFlags(args); err != nil {
			return usagef("%w\n\n%s", err, usage)
		}
		args = args[:1]
	}
	var uf usersFlags
	if args[0] == "users" {
		var err error
		if uf, err = parseUsersFlags(args); err != nil {
			return err
		}
		args = args[:1]
	}
	var docs documentsFlags
	if args[0] == "documents" {
		var err error
		if docs, err = parseDocumentsFlags(args); err != nil {
			return usagef("%w\n\n%s", err, usage)
		}
		args = args[:1]
	}
	if len(args) != 1 {
		return usageError{errors.New(usage)}
	}
	switch args[0] {
	case "version":
		fmt.Fprintln(std.out, version)
		return nil
	case "healthcheck":
		return healthcheck(context.Background(), os.Getenv)
	case "serve", "worker", "migrate", "seed", "backup", "restore", "import", "users", "documents":
	case "help", "-h", "--help":
		fmt.Fprintln(std.out, usage)
		return nil
	default:
		return usagef("unknown command %q\n\n%s", args[0], usage)
	}

	cfg, err := config.LoadFor(os.Getenv, config.Command(args[0]))
	if err != nil {
		return err
	}
	log := app.NewLogger(std.err, cfg.LogLevel)
	// Code that logs through slog's default logger (start-up sweeps,
	// webhook warnings) writes JSON lines too, not the log package's text.
	slog.SetDefault(log)
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
	if cfg.Bootstraps() {
		if err := bootstrapAdmin(ctx, a); err != nil {
			return err
		}
	}
	if args[0] == "migrate" {
		log.Info("database is up to date")
		return nil
	}
	if args[0] == "seed" {
		rep, err := a.SeedDemo(ctx, app.SeedOptions{Products: seedProducts})
		if err != nil {
			return err
		}
		// One block for people on stdout, the same as JSON fields in the log.
		log.Info("demo data", "url", rep.URL, "parts", rep.Parts, "accounts", rep.Accounts)
		return rep.Print(std.out)
	}
	if args[0] == "backup" || args[0] == "restore" {
		return runBackup(ctx, a, args[0], bk)
	}
	if args[0] == "import" {
		return runImport(ctx, a, imp, std.out, std.err)
	}
	if args[0] == "users" {
		return runUsers(ctx, a, uf, std)
	}
	if args[0] == "documents" {
		return runDocuments(ctx, a, docs, std.out)
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
