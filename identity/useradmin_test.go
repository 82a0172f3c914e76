package identity_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"

	"frontdesk/ent/auditentry"
	"frontdesk/ent/user"
	"frontdesk/errcode"
	"frontdesk/identity"
)

// TestCreateUserAndSetRole: the operator's account functions refuse bad
// input without writing, create any role, hand out a working
// set-password link, and audit as the system.
func TestCreateUserAndSetRole(t *testing.T) {
	e := newEnv(t)
	sys := identity.SystemContext(client("127.0.0.1"))
	ctx := context.Background()

	refused := []struct {
		name string
		in   identity.CreateUserInput
		want errcode.UserErrorCode
	}{
		{"bad email", identity.CreateUserInput{Email: "ann", Name: "Ann", Role: identity.RoleAdmin, Password: "a long passphrase"}, errcode.Invalid},
		{"no name", identity.CreateUserInput{Email: "ann@example.com", Role: identity.RoleAdmin, Password: "a long passphrase"}, errcode.Required},
		{"unknown role", identity.CreateUserInput{Email: "ann@example.com", Name: "Ann", Role: "BOSS", Password: "a long passphrase"}, errcode.Invalid},
		{"weak password", identity.CreateUserInput{Email: "ann@example.com", Name: "Ann", Role: identity.RoleAdmin, Password: "short"}, errcode.Invalid},
		{"common password", identity.CreateUserInput{Email: "ann@example.com", Name: "Ann", Role: identity.RoleAdmin, Password: "1234567890"}, errcode.Invalid},
	}
	for _, tt := range refused {
		if _, err := e.svc.CreateUser(sys, tt.in); userCode(err) != tt.want {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.want)
		}
	}
	if _, err := e.svc.CreateUser(client("10.0.0.1"), identity.CreateUserInput{Email: "ann@example.com", Name: "Ann", Role: identity.RoleAdmin}); errcode.Of(err) != errcode.Unauthenticated {
		t.Errorf("anonymous caller: %v", err)
	}
	if n := e.client.User.Query().CountX(ctx); n != 0 {
		t.Fatalf("refused input wrote %d users", n)
	}

	ann, err := e.svc.CreateUser(sys, identity.CreateUserInput{Email: " Ann@Example.com ", Name: "Ann", Role: identity.RoleAdmin, Password: "a long passphrase"})
	if err != nil || ann.User.Role != user.RoleADMIN || ann.User.Email != "ann@example.com" || ann.SetPasswordLink != "" {
		t.Fatalf("create admin: %+v %v", ann, err)
	}
	if _, err := e.svc.SignIn(client("10.0.0.1"), "ann@example.com", "a long passphrase"); err != nil {
		t.Fatalf("the new admin cannot sign in: %v", err)
	}
	if _, err := e.svc.CreateUser(sys, identity.CreateUserInput{Email: "ann@example.com", Name: "Ann", Role: identity.RoleStaff, Password: "a long passphrase"}); userCode(err) != errcode.Taken {
		t.Fatalf("duplicate email: %v", err)
	}

	bob, err := e.svc.CreateUser(sys, identity.CreateUserInput{Email: "bob@example.com", Name: "Bob", Role: identity.RolePractitioner})
	if err != nil || bob.User.PasswordHash != nil || !strings.HasPrefix(bob.SetPasswordLink, "https://app.test/reset-password?token=") {
		t.Fatalf("create without a password: %+v %v", bob, err)
	}
	link, err := url.Parse(bob.SetPasswordLink)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ResetPassword(ctx, link.Query().Get("token"), "bob's own passphrase"); err != nil {
		t.Fatalf("the set-password link does not work: %v", err)
	}
	if _, err := e.svc.SignIn(client("10.0.0.1"), "bob@example.com", "bob's own passphrase"); err != nil {
		t.Fatalf("bob cannot sign in after setting his password: %v", err)
	}

	for _, tt := range []struct {
		email string
		role  identity.Role
		want  errcode.UserErrorCode
	}{
		{"nobody@example.com", identity.RoleAdmin, errcode.Missing},
		{"bob", identity.RoleAdmin, errcode.Invalid},
		{"bob@example.com", "OWNER", errcode.Invalid},
	} {
		if _, _, err := e.svc.SetRoleByEmail(sys, tt.email, tt.role); userCode(err) != tt.want {
			t.Errorf("set-role %s %s: %v, want %s", tt.email, tt.role, err, tt.want)
		}
	}
	u, old, err := e.svc.SetRoleByEmail(sys, "BOB@example.com", "staff")
	if err != nil || old != identity.RolePractitioner || u.Role != user.RoleSTAFF {
		t.Fatalf("set-role: %v %s %v", u, old, err)
	}
	if _, old, err := e.svc.SetRoleByEmail(sys, "bob@example.com", identity.RoleStaff); err != nil || old != identity.RoleStaff {
		t.Fatalf("same role again: %s %v", old, err)
	}

	entries := e.client.AuditEntry.Query().Order(auditentry.ByCreatedAt()).AllX(ctx)
	var got []string
	for _, a := range entries {
		if a.ActorID != "" {
			t.Errorf("%s audited with actor %q, want the system", a.Action, a.ActorID)
		}
		got = append(got, a.Action+" "+a.TargetID)
	}
	want := []string{"user.create " + string(ann.User.ID), "user.create " + string(bob.User.ID), "user.set_role " + string(bob.User.ID)}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("audit log %v, want %v (a no-op set-role is not audited)", got, want)
	}
}

// TestBootstrapAdminOnceUnderConcurrency starts many bootstraps at once,
// as replicas starting together do: exactly one creates the admin, the
// others return without error, and later runs do nothing.
func TestBootstrapAdminOnceUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const replicas = 8
	var wg sync.WaitGroup
	start := make(chan struct{})
	created := make(chan bool, replicas)
	errs := make(chan error, replicas)
	for range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c, err := e.svc.BootstrapAdmin(ctx, "root@example.com", "", "a long passphrase")
			created <- c
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(created)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("bootstrap: %v", err)
		}
	}
	n := 0
	for c := range created {
		if c {
			n++
		}
	}
	admins := e.client.User.Query().Where(user.RoleEQ(user.RoleADMIN)).AllX(ctx)
	if n != 1 || len(admins) != 1 || admins[0].Name != "Administrator" {
		t.Fatalf("%d bootstraps reported creating; admins %v", n, admins)
	}
	// Once an admin exists another email changes nothing.
	if c, err := e.svc.BootstrapAdmin(ctx, "other@example.com", "Other", "a long passphrase"); c || err != nil {
		t.Fatalf("second bootstrap: %v %v", c, err)
	}
	if n := e.client.User.Query().CountX(ctx); n != 1 {
		t.Fatalf("%d users after a second bootstrap", n)
	}
}

// TestBootstrapAdminNeverPromotes: an account registered with the
// bootstrap email before any admin exists is not made an admin.
func TestBootstrapAdminNeverPromotes(t *testing.T) {
	e := newEnv(t)
	e.register(t, "root@example.com")
	c, err := e.svc.BootstrapAdmin(context.Background(), "root@example.com", "", "a long passphrase")
	if c || err == nil || !strings.Contains(err.Error(), "frontdesk users set-role root@example.com ADMIN") {
		t.Fatalf("bootstrap over a customer account: %v %v", c, err)
	}
	if n := e.client.User.Query().Where(user.RoleEQ(user.RoleADMIN)).CountX(context.Background()); n != 0 {
		t.Fatalf("%d admins", n)
	}
}
