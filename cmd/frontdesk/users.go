package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"frontdesk/app"
	"frontdesk/errcode"
	"frontdesk/identity"
)

// usageError is a command refused because of what was typed: a bad flag,
// a missing argument, or input the domain rules refuse (a bad email, an
// unknown role, a weak password, a taken email, an unknown user). main
// exits 2 for it, 1 for every other failure, so scripts can tell "fix
// the command" from "try again later".
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// stdio are the streams a command talks to; tests pass their own.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

type usersFlags struct {
	sub        string // create or set-role
	email      string
	name       string
	role       identity.Role
	noPassword bool
}

const usersUsage = `usage:
  frontdesk users create --email EMAIL --name NAME --role ADMIN|STAFF|PRACTITIONER|CUSTOMER [--no-password]
      The password is read from the first line of standard input when it is not a
      terminal, or prompted for (twice, without echo) on a terminal; it is never an
      argument. --no-password creates the account without one and prints a one-time
      link (FRONTDESK_APP_URL/reset-password?token=…) where its owner sets it.
  frontdesk users set-role EMAIL ROLE`

func parseUsersFlags(args []string) (usersFlags, error) {
	var f usersFlags
	if len(args) < 2 {
		return f, usagef("users: say create or set-role\n\n%s", usersUsage)
	}
	f.sub = args[1]
	switch f.sub {
	case "create":
		fs := flag.NewFlagSet("users create", flag.ContinueOnError)
		fs.SetOutput(io.Discard) // the error says it; the usage follows it
		fs.StringVar(&f.email, "email", "", "the account's email")
		fs.StringVar(&f.name, "name", "", "the person's name")
		role := fs.String("role", "", "ADMIN, STAFF, PRACTITIONER or CUSTOMER")
		fs.BoolVar(&f.noPassword, "no-password", false, "print a one-time set-password link instead of reading a password")
		if err := fs.Parse(args[2:]); err != nil {
			return f, usagef("users create: %v\n\n%s", err, usersUsage)
		}
		if fs.NArg() > 0 {
			return f, usagef("users create: unexpected argument %q (a password is never an argument: pipe it on standard input)\n\n%s", fs.Arg(0), usersUsage)
		}
		var missing []string
		for _, m := range []struct{ name, v string }{{"--email", f.email}, {"--name", f.name}, {"--role", *role}} {
			if strings.TrimSpace(m.v) == "" {
				missing = append(missing, m.name)
			}
		}
		if len(missing) > 0 {
			return f, usagef("users create: %s required\n\n%s", strings.Join(missing, ", "), usersUsage)
		}
		r, err := identity.ParseRole(*role, "--role")
		if err != nil {
			return f, usageError{fmt.Errorf("users create: %w", err)}
		}
		f.role = r
	case "set-role":
		if len(args) != 4 || strings.HasPrefix(args[2], "-") {
			return f, usagef("users set-role: give an email and a role\n\n%s", usersUsage)
		}
		f.email = args[2]
		r, err := identity.ParseRole(args[3], "role")
		if err != nil {
			return f, usageError{fmt.Errorf("users set-role: %w", err)}
		}
		f.role = r
	default:
		return f, usagef("users: unknown subcommand %q\n\n%s", f.sub, usersUsage)
	}
	return f, nil
}

// runUsers runs `users create` or `users set-role` as the system, so the
// audit log records a system action.
func runUsers(ctx context.Context, a *app.App, f usersFlags, std stdio) error {
	ctx = identity.SystemContext(ctx)
	switch f.sub {
	case "create":
		var password string
		if !f.noPassword {
			var err error
			if password, err = readPassword(std); err != nil {
				return err
			}
		}
		res, err := a.Identity.CreateUser(ctx, identity.CreateUserInput{Email: f.email, Name: f.name, Role: f.role, Password: password})
		if err != nil {
			return commandError("users create", err)
		}
		u := res.User
		if res.SetPasswordLink == "" {
			fmt.Fprintf(std.out, "created %s %s (%s)\n", u.Role, u.Email, u.ID)
			return nil
		}
		fmt.Fprintf(std.out, "created %s %s (%s) without a password\n"+
			"send this one-time link to its owner; it sets the password and works until %s:\n%s\n",
			u.Role, u.Email, u.ID, res.SetPasswordExpires.Format(time.RFC3339), res.SetPasswordLink)
		return nil
	case "set-role":
		u, old, err := a.Identity.SetRoleByEmail(ctx, f.email, f.role)
		if err != nil {
			return commandError("users set-role", err)
		}
		if old == f.role {
			fmt.Fprintf(std.out, "%s is already %s; nothing changed\n", u.Email, old)
			return nil
		}
		fmt.Fprintf(std.out, "%s: %s -> %s\n", u.Email, old, u.Role)
		return nil
	}
	return usagef("users: unknown subcommand %q", f.sub)
}

// commandError makes refused input a usageError (exit 2) and wraps the rest.
func commandError(cmd string, err error) error {
	if _, ok := errcode.AsUserErrors(err); ok {
		return usageError{fmt.Errorf("%s: %w", cmd, err)}
	}
	return fmt.Errorf("%s: %w", cmd, err)
}

// errNoPassword is the refusal of an empty password: an empty pipe is far
// more often a mistake than a wish for an account without one.
var errNoPassword = usagef("users create: no password given; pipe one on standard input, type it at the prompt, or pass --no-password to print a set-password link")

// readPassword reads the password: the first line of standard input when
// it is not a terminal, or twice without echo when it is.
func readPassword(std stdio) (string, error) {
	if f, ok := std.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(std.err, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(std.err)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if len(p1) == 0 {
			return "", errNoPassword
		}
		fmt.Fprint(std.err, "Repeat the password: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(std.err)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(p1) != string(p2) {
			return "", usagef("users create: the two passwords differ; nothing was created")
		}
		return string(p1), nil
	}
	// A line longer than any allowed password is read in full only up to
	// this bound; the policy check then refuses it.
	line, err := bufio.NewReader(io.LimitReader(std.in, identity.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errNoPassword
	}
	return line, nil
}
