package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"frontdesk/app"
	"frontdesk/identity"
)

type importFlags struct {
	file string
	opts identity.ImportOptions
}

func parseImportFlags(args []string) (importFlags, error) {
	var f importFlags
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.BoolVar(&f.opts.SkipInvalid, "skip-invalid", false, "import the valid rows and report the invalid ones (default: import nothing if any row is invalid)")
	fs.BoolVar(&f.opts.Update, "update", false, "fill the empty fields of existing customer accounts instead of skipping them")
	fs.BoolVar(&f.opts.DryRun, "dry-run", false, "check the file against the database and write nothing")
	if len(args) < 2 || args[1] != "customers" {
		return f, errors.New("import: say what to import: frontdesk import customers FILE.csv")
	}
	if err := fs.Parse(args[2:]); err != nil {
		return f, err
	}
	if fs.NArg() != 1 {
		return f, errors.New("import customers needs one CSV file (flags go before it)")
	}
	f.file = fs.Arg(0)
	f.opts.Source = filepath.Base(f.file)
	return f, nil
}

// runImport imports the file and prints the summary to stdout and each
// invalid row to stderr. It fails when invalid rows kept it from
// importing anything.
func runImport(ctx context.Context, a *app.App, f importFlags, stdout, stderr io.Writer) error {
	file, err := os.Open(f.file)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer file.Close() //nolint:errcheck // read only
	rep, err := a.Identity.ImportCustomers(ctx, file, f.opts)
	if rep != nil {
		for _, bad := range rep.Invalid {
			fmt.Fprintf(stderr, "%s: %s\n", f.file, bad)
		}
		verb := "imported"
		if rep.DryRun {
			verb = "dry run, nothing written; would import"
		}
		if errors.Is(err, identity.ErrImportInvalid) {
			verb = "nothing imported (fix the invalid rows, or import the rest with --skip-invalid)"
			if rep.DryRun {
				verb = "dry run: nothing would be imported (fix the invalid rows, or import the rest with --skip-invalid)"
			}
		}
		fmt.Fprintf(stdout, "%s: %s: read %d, created %d (%d without a usable password, who must reset it), updated %d, skipped existing %d, invalid %d\n",
			f.file, verb, rep.Read, rep.Created, rep.WithoutPassword, rep.Updated, rep.SkippedExisting, len(rep.Invalid))
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", f.file, err)
	}
	return nil
}
