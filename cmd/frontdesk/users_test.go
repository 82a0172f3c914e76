package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"frontdesk/app"
	"frontdesk/config"
	"frontdesk/ent/auditentry"
	"frontdesk/ent/user"
	"frontdesk/internal/testenv"
)

// TestUsersCommand runs the real command function with standard input
// piped: every refusal exits 2 (usageError) with one line and writes
// nothing; create, the set-password link and set-role work and are
// audited as the system.
func TestUsersCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("FRONTDESK_DATA_DIR", dir)
	t.Setenv("FRONTDESK_DATABASE_URL", testenv.DatabaseURL(t))
	t.Setenv("FRONTDESK_LOG_LEVEL", "error")
	t.Setenv("FRONTDESK_BACKUP_SCHEDULE", "off")
	t.Setenv("FRONTDESK_APP_URL", "https://shop.example")
	cli := func(stdin string, args ...string) (string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		err := runIO(args, stdio{in: strings.NewReader(stdin), out: &out, err: &errOut})
		return out.String(), err
	}
	refused := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"users"}, "say create or set-role"},
		{"", []string{"users", "delete"}, `unknown subcommand "delete"`},
		{"", []string{"users", "create", "--email", "a@example.com"}, "--name, --role required"},
		{"", []string{"users", "create", "--email", "a@example.com", "--name", "A", "--role", "OWNER"}, `unknown role "OWNER"`},
		{"", []string{"users", "create", "--email", "a@example.com", "--name", "A", "--role", "ADMIN", "a long passphrase"}, "never an argument"},
		{"", []string{"users", "create", "--email", "a@example.com", "--name", "A", "--role", "ADMIN"}, "no password given"},
		{"\n", []string{"users", "create", "--email", "a@example.com", "--name", "A", "--role", "ADMIN"}, "no password given"},
		{"short\n", []string{"users", "create", "--email", "a@example.com", "--name", "A", "--role", "ADMIN"}, "password: use at least 10 characters"},
		{"a long passphrase\n", []string{"users", "create", "--email", "not-an-email", "--name", "A", "--role", "ADMIN"}, "email: enter an email address"},
		{"", []string{"users", "set-role", "a@example.com"}, "give an email and a role"},
		{"", []string{"users", "set-role", "nobody@example.com", "ADMIN"}, "no account has the email nobody@example.com"},
		{"", []string{"users", "set-role", "nobody@example.com", "king"}, `unknown role "king"`},
	}
	for _, tt := range refused {
		_, err := cli(tt.stdin, tt.args...)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want a usage error saying %q", tt.args, err, tt.want)
		}
	}

	out, err := cli("a long passphrase\r\nignored second line\n", "users", "create", "--email", "Ann@Example.com", "--name", "Ann Admin", "--role", "admin")
	if err != nil || !strings.HasPrefix(out, "created ADMIN ann@example.com (usr_") {
		t.Fatalf("create admin: %q %v", out, err)
	}
	if _, err := cli("a long passphrase\n", "users", "create", "--email", "ann@example.com", "--name", "Ann", "--role", "STAFF"); err == nil ||
		!errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "an account with the email ann@example.com exists") {
		t.Fatalf("duplicate email: %v", err)
	}
	out, err = cli("stdin is not read with --no-password\n", "users", "create", "--email", "pat@example.com", "--name", "Pat", "--role", "PRACTITIONER", "--no-password")
	if err != nil || !strings.Contains(out, "created PRACTITIONER pat@example.com") {
		t.Fatalf("create without a password: %q %v", out, err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	link, err := url.Parse(lines[len(lines)-1])
	if err != nil || link.Scheme+"://"+link.Host+link.Path != "https://shop.example/reset-password" || link.Query().Get("token") == "" {
		t.Fatalf("the last line is not the set-password link: %q", out)
	}
	out, err = cli("", "users", "set-role", "pat@example.com", "STAFF")
	if err != nil || out != "pat@example.com: PRACTITIONER -> STAFF\n" {
		t.Fatalf("set-role: %q %v", out, err)
	}
	if out, err = cli("", "users", "set-role", "pat@example.com", "STAFF"); err != nil || !strings.Contains(out, "already STAFF; nothing changed") {
		t.Fatalf("set-role again: %q %v", out, err)
	}

	// What the commands left, read through the app as serve would.
	cfg, err := config.LoadFor(os.Getenv, config.Users)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := app.New(ctx, cfg, app.NewLogger(io.Discard, "error"), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if n := a.DB.Client.User.Query().CountX(ctx); n != 2 {
		t.Fatalf("%d users, want ann and pat only", n)
	}
	if _, err := a.Identity.SignIn(ctx, "ann@example.com", "a long passphrase"); err != nil {
		t.Fatalf("ann cannot sign in with the piped password: %v", err)
	}
	pat := a.DB.Client.User.Query().Where(user.Email("pat@example.com")).OnlyX(ctx)
	if pat.Role != user.RoleSTAFF || pat.PasswordHash != nil {
		t.Fatalf("pat: %+v", pat)
	}
	if _, err := a.Identity.ResetPassword(ctx, link.Query().Get("token"), "pat's own passphrase"); err != nil {
		t.Fatalf("the printed link does not set a password: %v", err)
	}
	audits := a.DB.Client.AuditEntry.Query().Order(auditentry.ByCreatedAt()).AllX(ctx)
	var actions []string
	for _, e := range audits {
		if e.ActorID != "" {
			t.Errorf("%s has actor %q, want the system", e.Action, e.ActorID)
		}
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, " ") != "user.create user.create user.set_role" {
		t.Fatalf("audit log: %v", actions)
	}
}

// TestBinaryFirstAdmin builds the binary and drives it as an operator
// does, from an empty data directory: migrate creates the first admin
// from the bootstrap variables (once), users create and set-role work
// with a piped password and exit 2 on refused input, seed runs twice and
// refuses production, and the admin signs in to the served API.
func TestBinaryFirstAdmin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "frontdesk")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	pwFile := filepath.Join(dir, "admin_password")
	if err := os.WriteFile(pwFile, []byte("the first admin's passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"FRONTDESK_DATA_DIR="+filepath.Join(dir, "data"),
		"FRONTDESK_DATABASE_URL="+testenv.DatabaseURL(t),
		"FRONTDESK_BACKUP_SCHEDULE=off",
		"FRONTDESK_ADDR=127.0.0.1:0",
		"FRONTDESK_BOOTSTRAP_ADMIN_EMAIL=root@example.com",
		"FRONTDESK_BOOTSTRAP_ADMIN_PASSWORD_FILE="+pwFile,
	)
	frontdesk := func(stdin string, args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			code = ee.ExitCode()
		case err != nil:
			t.Fatalf("%v: %v", args, err)
		}
		return o.String(), e.String(), code
	}
	if _, stderr, code := frontdesk("", "migrate"); code != 0 || !strings.Contains(stderr, `"msg":"created the first admin from FRONTDESK_BOOTSTRAP_ADMIN_EMAIL"`) {
		t.Fatalf("first migrate: exit %d\n%s", code, stderr)
	}
	if _, stderr, code := frontdesk("", "migrate"); code != 0 || !strings.Contains(stderr, "an admin exists") {
		t.Fatalf("second migrate: exit %d\n%s", code, stderr)
	}
	if out, stderr, code := frontdesk("a staff passphrase\n", "users", "create", "--email", "sam@example.com", "--name", "Sam", "--role", "STAFF"); code != 0 || !strings.HasPrefix(out, "created STAFF sam@example.com") {
		t.Fatalf("users create: exit %d %q\n%s", code, out, stderr)
	}
	for _, args := range [][]string{
		{"users", "create", "--email", "sam@example.com", "--name", "Sam", "--role", "STAFF"},
		{"users", "set-role", "nobody@example.com", "ADMIN"},
		{"users", "create", "--email", "x@example.com", "--name", "X", "--role", "GOD"},
	} {
		_, stderr, code := frontdesk("a staff passphrase\n", args...)
		last := strings.TrimSpace(stderr)
		if i := strings.LastIndex(last, "\nfrontdesk: "); i >= 0 {
			last = last[i+1:]
		}
		if code != 2 || !strings.HasPrefix(last, "frontdesk: users ") || strings.Contains(last, "\n") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line", args, code, stderr)
		}
	}
	if _, _, code := frontdesk("", "users", "set-role", "sam@example.com", "ADMIN"); code != 0 {
		t.Fatalf("set-role: exit %d", code)
	}

	// seed is idempotent, prints the credentials block, and never runs in
	// production.
	for run, want := range []string{"created", "already there"} {
		out, stderr, code := frontdesk("", "seed", "--products", "2")
		if code != 0 || strings.Count(out, want) != 6 || !strings.Contains(out, "admin@demo.example          demo-admin-pass") {
			t.Fatalf("seed run %d: exit %d, want 6 parts %q\n%s\n%s", run+1, code, want, out, stderr)
		}
		for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
			if !json.Valid([]byte(line)) {
				t.Fatalf("seed logged a line that is not JSON: %q", line)
			}
		}
	}
	env = append(env, "FRONTDESK_ENV=production")
	if _, stderr, code := frontdesk("", "seed"); code != 1 || !strings.Contains(stderr, "never runs in production") {
		t.Fatalf("seed in production: exit %d\n%s", code, stderr)
	}
	env = env[:len(env)-1]

	// serve, and sign in as the bootstrapped admin over HTTP.
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	// Every line serve logs is JSON, the start-up retention sweeps (which
	// log through slog's default logger) included.
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	addr, swept := "", false
	deadline := time.After(60 * time.Second)
	for addr == "" || !swept {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve ended early (addr %q, swept %v)", addr, swept)
			}
			var line struct{ Msg, Addr string }
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatalf("serve wrote a line that is not JSON: %q", l)
			}
			switch line.Msg {
			case "serving":
				addr = line.Addr
			case "retention sweep":
				swept = true
			}
		case <-deadline:
			t.Fatalf("no serving and retention sweep lines within 60s (addr %q, swept %v)", addr, swept)
		}
	}
	go func() {
		for range lines {
		}
	}()
	body := `{"query":"mutation($e:String!,$p:String!){ signIn(input:{email:$e,password:$p}) { user { email role } } }","variables":{"e":"root@example.com","p":"the first admin's passphrase"}}`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(raw), `"user":{"email":"root@example.com","role":"ADMIN"}`) {
		t.Fatalf("sign-in as the first admin: %s", raw)
	}
}
