package identity_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/auditentry"
	"frontdesk/ent/user"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

// phpRasmus is the example in PHP's manual: password_hash("rasmuslerdorf").
const phpRasmus = "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"

func (e *env) importCSV(t *testing.T, csv string, opts identity.ImportOptions) (*identity.ImportReport, error) {
	t.Helper()
	return e.svc.ImportCustomers(context.Background(), strings.NewReader(csv), opts)
}

func (e *env) users(t *testing.T) []*ent.User {
	t.Helper()
	return e.client.User.Query().Order(ent.Asc(user.FieldEmail)).AllX(context.Background())
}

func (e *env) imports(t *testing.T) []*ent.AuditEntry {
	t.Helper()
	return e.client.AuditEntry.Query().Where(auditentry.Action("user.import")).AllX(context.Background())
}

// summary is the counts of a report, for comparing.
func summary(r *identity.ImportReport) [6]int {
	return [6]int{r.Read, r.Created, r.Updated, r.SkippedExisting, len(r.Invalid), r.WithoutPassword}
}

// TestImportCustomers: a legacy shop export becomes customer accounts
// whose owners sign in with the passwords they had (the bcrypt hash
// becomes argon2id on the way), with a system entry in the audit log;
// importing the same file again changes nothing.
func TestImportCustomers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	argon, err := identity.HashPassword("an argon passphrase", fastHash)
	if err != nil {
		t.Fatal(err)
	}
	file := "email,name,phone,password_hash,created_at,email_verified\n" +
		"Rasmus@Example.com , Rasmus Lerdorf,+61 412 345 678," + phpRasmus + ",2019-03-02 10:00:00,1\n" +
		"bee@example.com,Bee,,$2b$10$abcdefghijklmnopqrstuuCj7fyLDJytXL.TfOiOeiv0fQvSOK1/2,2020-01-02T03:04:05+01:00,false\n" +
		"cat@example.com,Cat,,5f4dcc3b5aa765d61d327deb882cf99b,0000-00-00 00:00:00,\n" +
		"dan@example.com,,,,,\n" +
		"eve@example.com,\"Eve, \"\"E\"\"\",,\"" + argon + "\",,yes\n"
	rep, err := e.importCSV(t, file, identity.ImportOptions{Source: "legacy.csv"})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if diff := cmp.Diff([6]int{5, 5, 0, 0, 0, 2}, summary(rep)); diff != "" {
		t.Fatalf("report (-want +got):\n%s", diff)
	}
	users := e.users(t)
	if len(users) != 5 {
		t.Fatalf("%d users, want 5", len(users))
	}
	ras := users[4]
	if ras.Email != "rasmus@example.com" || ras.Name != "Rasmus Lerdorf" || ras.Phone == nil || *ras.Phone != "+61412345678" ||
		ras.Role != user.RoleCUSTOMER || ras.EmailVerifiedAt == nil || !ras.CreatedAt.Equal(time.Date(2019, 3, 2, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("rasmus imported as %+v", ras)
	}
	if !users[0].CreatedAt.Equal(time.Date(2020, 1, 2, 2, 4, 5, 0, time.UTC)) || users[0].EmailVerifiedAt != nil {
		t.Fatalf("bee imported as %+v", users[0])
	}
	if users[1].PasswordHash != nil || users[2].PasswordHash != nil {
		t.Fatal("an MD5 digest or an empty hash was imported as a password")
	}
	if users[3].Name != `Eve, "E"` || users[3].EmailVerifiedAt == nil {
		t.Fatalf("eve imported as %+v", users[3])
	}

	in, err := e.svc.SignIn(client("10.0.0.5"), "rasmus@example.com", "rasmuslerdorf")
	if err != nil {
		t.Fatalf("sign in with the legacy password: %v", err)
	}
	if h := *e.client.User.GetX(ctx, in.User.ID).PasswordHash; !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("hash after sign-in %q, want argon2id", h)
	}
	for email, pw := range map[string]string{"bee@example.com": "correct horse battery", "eve@example.com": "an argon passphrase"} {
		if _, err := e.svc.SignIn(client("10.0.0.5"), email, pw); err != nil {
			t.Fatalf("sign in %s: %v", email, err)
		}
	}
	if _, err := e.svc.SignIn(client("10.0.0.5"), "cat@example.com", "password"); !errors.Is(err, identity.ErrInvalidCredentials) {
		t.Fatalf("sign in with a dropped MD5 password: %v", err)
	}

	audit := e.imports(t)
	if len(audit) != 1 || audit[0].ActorID != "" || audit[0].After["source"] != "legacy.csv" || audit[0].After["created"] != float64(5) {
		t.Fatalf("audit log: %+v", audit)
	}

	before := e.users(t)
	rep, err = e.importCSV(t, strings.ToUpper(file[:6])+file[6:], identity.ImportOptions{})
	if err != nil {
		t.Fatalf("import again: %v", err)
	}
	if diff := cmp.Diff([6]int{5, 0, 0, 5, 0, 0}, summary(rep)); diff != "" {
		t.Fatalf("report of the second import (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, e.users(t), cmp.Comparer(func(a, b *ent.User) bool { return a.String() == b.String() && ptrEq(a.PasswordHash, b.PasswordHash) })); diff != "" {
		t.Fatalf("the second import changed accounts:\n%s", diff)
	}
	if n := len(e.imports(t)); n != 1 {
		t.Fatalf("%d audit entries after the second import, want 1", n)
	}
}

func ptrEq(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// TestImportCustomersInvalidRows: every invalid row is reported with its
// line, and nothing is written unless SkipInvalid, which imports the rest.
func TestImportCustomersInvalidRows(t *testing.T) {
	e := newEnv(t)
	file := "email,name,phone,created_at,email_verified\n" +
		"ann@example.com,Ann,,,\n" + // 2
		"not an email,Bob,,,\n" + // 3
		"cy@example.com,Cy,12345,,\n" + // 4
		"ANN@example.com,Ann again,,,\n" + // 5
		"dee@example.com,Dee\n" + // 6
		"\"multi\nline@example.com\",,,,\n" + // 7-8
		"fay@example.com,Fay,,yesterday,\n" + // 9
		"gus@example.com,Gus,,2999-01-01 00:00:00,\n" + // 10
		"hal@example.com,Hal,,,maybe\n" + // 11
		"ida@example.com," + strings.Repeat("x", 201) + ",,,\n" + // 12
		",nobody,,,\n" + // 13
		"jo@example.com,Jo,+44 20 7946 0958,2021-05-06 07:08:09,0\n" // 14
	wantLines := []int{3, 4, 5, 6, 7, 9, 10, 11, 12, 13}

	rep, err := e.importCSV(t, file, identity.ImportOptions{})
	if !errors.Is(err, identity.ErrImportInvalid) {
		t.Fatalf("import: %v, want ErrImportInvalid", err)
	}
	var lines []int
	for _, bad := range rep.Invalid {
		lines = append(lines, bad.Line)
	}
	if diff := cmp.Diff(wantLines, lines); diff != "" {
		t.Fatalf("invalid lines (-want +got):\n%s\n%v", diff, rep.Invalid)
	}
	if !strings.Contains(rep.Invalid[2].Reason, "already on line 2") {
		t.Errorf("duplicate: %s", rep.Invalid[2])
	}
	if n := len(e.users(t)); n != 0 || len(e.imports(t)) != 0 {
		t.Fatalf("%d users after a refused import, want none", n)
	}

	rep, err = e.importCSV(t, file, identity.ImportOptions{SkipInvalid: true})
	if err != nil {
		t.Fatalf("import --skip-invalid: %v", err)
	}
	if diff := cmp.Diff([6]int{12, 2, 0, 0, 10, 2}, summary(rep)); diff != "" {
		t.Fatalf("report (-want +got):\n%s\n%v", diff, rep.Invalid)
	}
	users := e.users(t)
	if len(users) != 2 || users[0].Email != "ann@example.com" || users[0].Name != "Ann" || users[1].Email != "jo@example.com" {
		t.Fatalf("imported %v", users)
	}
	if _, err := e.importCSV(t, "email\nnope\n", identity.ImportOptions{SkipInvalid: true}); !errors.Is(err, identity.ErrImportInvalid) {
		t.Fatalf("--skip-invalid with no valid row: %v", err)
	}
}

// TestImportCustomersFileErrors: a header with a typo, without email or
// with broken quoting is refused as a whole.
func TestImportCustomersFileErrors(t *testing.T) {
	e := newEnv(t)
	for file, want := range map[string]string{
		"email,nmae,phone,role\nann@example.com,Ann,,ADMIN\n": `unknown columns "nmae", "role"`,
		"name\nAnn\n": "no email column",
		"email,Email\na@example.com,b@example.com\n": "repeated columns email",
		"":                                  "the file is empty",
		"email,name\na@example.com,\"Ann\n": "line 2",
	} {
		_, err := e.importCSV(t, file, identity.ImportOptions{SkipInvalid: true})
		if err == nil || !strings.Contains(err.Error(), want) || userCode(err) == "" {
			t.Errorf("%q: %v, want a user error with %q", file, err, want)
		}
	}
	if n := len(e.users(t)); n != 0 {
		t.Fatalf("%d users", n)
	}
}

// TestImportCustomersDryRun: a dry run reports what an import would do
// and writes nothing.
func TestImportCustomersDryRun(t *testing.T) {
	e := newEnv(t)
	e.register(t, "old@example.com")
	file := "email,name,phone\nold@example.com,Old,+61412345678\nnew@example.com,New,\nbad,Bad,\n"
	rep, err := e.importCSV(t, file, identity.ImportOptions{DryRun: true})
	if !errors.Is(err, identity.ErrImportInvalid) || len(rep.Invalid) != 1 || rep.Invalid[0].Line != 4 {
		t.Fatalf("dry run with an invalid row: %v %+v", err, rep)
	}
	rep, err = e.importCSV(t, file, identity.ImportOptions{DryRun: true, SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([6]int{3, 1, 0, 1, 1, 1}, summary(rep)); diff != "" || !rep.DryRun {
		t.Fatalf("dry-run report (-want +got):\n%s", diff)
	}
	rep, err = e.importCSV(t, file, identity.ImportOptions{DryRun: true, SkipInvalid: true, Update: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([6]int{3, 1, 1, 0, 1, 1}, summary(rep)); diff != "" || !rep.DryRun {
		t.Fatalf("dry-run report (-want +got):\n%s", diff)
	}
	users := e.users(t)
	if len(users) != 1 || users[0].Phone != nil || len(e.imports(t)) != 0 {
		t.Fatalf("after a dry run: %v, %d audit entries; want the one account unchanged", users, len(e.imports(t)))
	}
}

// TestImportCustomersUpdate: --update fills only empty fields of existing
// customers; a guest gets the legacy password only when the legacy shop
// had verified the address; staff accounts are never touched.
func TestImportCustomersUpdate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.register(t, "reg@example.com") // name "Test", no phone
	// Accounts without a password, as an earlier import or `users create
	// --no-password` leaves them.
	guest := e.client.User.Create().SetEmail("guest@example.com").SaveX(ctx)
	e.client.User.Create().SetEmail("unverified@example.com").ExecX(ctx)
	e.client.User.Create().SetEmail("staff@example.com").SetRole(user.RoleSTAFF).ExecX(ctx)
	file := "email,name,phone,password_hash,email_verified\n" +
		"reg@example.com,Other Name,+61412345678," + phpRasmus + ",1\n" +
		"guest@example.com,Guest,," + phpRasmus + ",1\n" +
		"unverified@example.com,Unverified,," + phpRasmus + ",0\n" +
		"staff@example.com,Staff,+61412345679," + phpRasmus + ",1\n"

	rep, err := e.importCSV(t, file, identity.ImportOptions{})
	if err != nil || rep.SkippedExisting != 4 || rep.Updated != 0 {
		t.Fatalf("import without --update: %v %+v", err, rep)
	}
	rep, err = e.importCSV(t, file, identity.ImportOptions{Update: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([6]int{4, 0, 3, 1, 0, 0}, summary(rep)); diff != "" {
		t.Fatalf("report (-want +got):\n%s", diff)
	}
	users := e.users(t) // guest, reg, staff, unverified
	reg := users[1]
	if reg.Name != "Test" || reg.Phone == nil || *reg.Phone != "+61412345678" || *reg.PasswordHash == phpRasmus {
		t.Fatalf("registered account after --update: %+v", reg)
	}
	if users[0].ID != guest.ID || users[0].Name != "Guest" || users[0].PasswordHash == nil || users[0].EmailVerifiedAt == nil {
		t.Fatalf("verified guest after --update: %+v", users[0])
	}
	if users[3].Name != "Unverified" || users[3].PasswordHash != nil {
		t.Fatalf("unverified guest after --update: %+v", users[3])
	}
	if users[2].Name != "" || users[2].Phone != nil {
		t.Fatalf("staff account after --update: %+v", users[2])
	}
	if _, err := e.svc.SignIn(client("10.0.0.6"), "guest@example.com", "rasmuslerdorf"); err != nil {
		t.Fatalf("verified guest signs in with the legacy password: %v", err)
	}
	rep, err = e.importCSV(t, file, identity.ImportOptions{Update: true})
	if err != nil || rep.Updated != 0 || rep.SkippedExisting != 4 || len(e.imports(t)) != 1 {
		t.Fatalf("--update again: %v %+v", err, rep)
	}
}

// TestImportCustomersLarge imports 20,000 rows: statements are batched
// (a lookup and an INSERT per 500 rows), so the statement count stays far
// below the row count. The time and memory are logged for
// docs/benchmarks.md, not asserted.
func TestImportCustomersLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large import")
	}
	counter, wrap := testenv.CountQueries()
	e := newEnvWith(t, database.Options{Driver: wrap})
	const n = 20000
	var b strings.Builder
	b.WriteString("email,name,phone,password_hash,created_at,email_verified\n")
	for i := range n {
		fmt.Fprintf(&b, "customer%05d@example.com,Customer %d,+614%08d,%s,2018-01-01 00:00:00,1\n", i, i, i, phpRasmus)
	}
	file := b.String()
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	peak := peakHeap()
	counter.Reset()
	start := time.Now()
	rep, err := e.importCSV(t, file, identity.ImportOptions{})
	elapsed := time.Since(start)
	runtime.ReadMemStats(&m1)
	peakBytes := peak()
	if err != nil {
		t.Fatal(err)
	}
	stmts := counter.Reset()
	if rep.Created != n {
		t.Fatalf("created %d", rep.Created)
	}
	if stmts > 2*n/500+10 {
		t.Fatalf("%d statements for %d rows; the import is not batched", stmts, n)
	}
	t.Logf("%s: imported %d rows (%d KiB CSV) in %v, %d statements, %d MiB allocated, peak live heap %d MiB (%d MiB before)",
		testenv.Name(), n, len(file)/1024, elapsed.Round(time.Millisecond), stmts, (m1.TotalAlloc-m0.TotalAlloc)>>20, peakBytes>>20, m0.HeapAlloc>>20)

	start = time.Now()
	rep, err = e.importCSV(t, file, identity.ImportOptions{})
	if err != nil || rep.SkippedExisting != n || rep.Created != 0 {
		t.Fatalf("re-run: %v %+v", err, summary(rep))
	}
	t.Logf("%s: re-run skipped %d existing in %v", testenv.Name(), n, time.Since(start).Round(time.Millisecond))
	if _, err := e.svc.SignIn(client("10.0.0.7"), "customer12345@example.com", "rasmuslerdorf"); err != nil {
		t.Fatal(err)
	}
}

// peakHeap samples the live heap every 5ms until the returned function
// is called, which returns the largest sample.
func peakHeap() func() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	done, result := make(chan struct{}), make(chan uint64)
	go func() {
		var peak uint64
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				result <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(done); return <-result }
}

// TestImportCustomersConcurrently: two operators importing the same file
// at once never make two accounts for an email, and the file's accounts
// are created by exactly one import (the other skips them, or fails and
// writes nothing).
func TestImportCustomersConcurrently(t *testing.T) {
	e := newEnv(t)
	const n = 1200
	var b strings.Builder
	b.WriteString("email,name\n")
	for i := range n {
		fmt.Fprintf(&b, "c%04d@example.com,C %d\n", i, i)
	}
	file := b.String()
	type result struct {
		rep *identity.ImportReport
		err error
	}
	results := make(chan result, 2)
	var start sync.WaitGroup
	start.Add(1)
	for range 2 {
		go func() {
			start.Wait()
			rep, err := e.svc.ImportCustomers(context.Background(), strings.NewReader(file), identity.ImportOptions{})
			results <- result{rep, err}
		}()
	}
	start.Done()
	created := 0
	for range 2 {
		r := <-results
		switch {
		case r.err != nil:
			t.Logf("the other import failed, as it may: %v", r.err)
		case r.rep.Created == n || r.rep.SkippedExisting == n:
			created += r.rep.Created
		default:
			t.Fatalf("an import split the file: %+v", summary(r.rep))
		}
	}
	if created != n {
		t.Fatalf("imports created %d accounts in all, want %d", created, n)
	}
	if got := e.client.User.Query().CountX(context.Background()); got != n || len(e.imports(t)) != 1 {
		t.Fatalf("%d accounts and %d audit entries, want %d and 1", got, len(e.imports(t)), n)
	}
}
