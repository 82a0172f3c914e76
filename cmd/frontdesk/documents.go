package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"frontdesk/app"
	"frontdesk/identity"
)

type documentsFlags struct {
	client string
	file   string
}

// parseDocumentsFlags reads `documents register --client NAME FILE`.
func parseDocumentsFlags(args []string) (documentsFlags, error) {
	var f documentsFlags
	fs := flag.NewFlagSet("documents", flag.ContinueOnError)
	fs.StringVar(&f.client, "client", "", "the client the manifest belongs to, such as web-shop")
	if len(args) < 2 || args[1] != "register" {
		return f, errors.New("documents: say what to do: frontdesk documents register --client NAME FILE.json")
	}
	if err := fs.Parse(args[2:]); err != nil {
		return f, err
	}
	if f.client == "" || fs.NArg() != 1 {
		return f, errors.New("documents register needs --client NAME and one manifest file (flags go before it)")
	}
	f.file = fs.Arg(0)
	return f, nil
}

// runDocuments registers a Relay or Apollo persisted-operation manifest
// as the client's trusted documents and prints how many were new.
func runDocuments(ctx context.Context, a *app.App, f documentsFlags, stdout io.Writer) error {
	manifest, err := os.ReadFile(f.file)
	if err != nil {
		return fmt.Errorf("documents: %w", err)
	}
	added, total, err := a.Documents.RegisterManifest(identity.SystemContext(ctx), f.client, manifest)
	if err != nil {
		return fmt.Errorf("documents register %s: %w", f.file, err)
	}
	fmt.Fprintf(stdout, "%s: %d documents for client %s, %d new\n", f.file, total, f.client, added)
	return nil
}
