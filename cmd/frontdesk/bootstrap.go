package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"frontdesk/app"
	"frontdesk/identity"
)

// bootstrapAdmin creates the first ADMIN from FRONTDESK_BOOTSTRAP_ADMIN_*
// when no ADMIN exists (identity.BootstrapAdmin makes that safe when
// replicas start together). The password is the first line of the file.
func bootstrapAdmin(ctx context.Context, a *app.App) error {
	cfg := a.Config
	password, err := readPasswordFile(cfg.BootstrapAdminPasswordFile)
	if err != nil {
		return fmt.Errorf("FRONTDESK_BOOTSTRAP_ADMIN_PASSWORD_FILE: %w", err)
	}
	created, err := a.Identity.BootstrapAdmin(ctx, cfg.BootstrapAdminEmail, cfg.BootstrapAdminName, password)
	if err != nil {
		return err
	}
	if created {
		a.Log.Info("created the first admin from FRONTDESK_BOOTSTRAP_ADMIN_EMAIL", "email", strings.ToLower(cfg.BootstrapAdminEmail))
	} else {
		a.Log.Info("an admin exists: FRONTDESK_BOOTSTRAP_ADMIN_EMAIL changes nothing")
	}
	return nil
}

func readPasswordFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close() //nolint:errcheck // read only
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("%s: the file is empty; put the password on its first line", name)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", fmt.Errorf("%s: the first line is empty; put the password on it", name)
	}
	if err := identity.CheckPasswordPolicy(line, "password"); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return line, nil
}
