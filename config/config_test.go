package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.Env != Development || c.DataDir != "data" || !c.Embedded() {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if !c.Playground || !c.Introspection || !c.FieldSuggestions || !c.MigrateOnStart {
		t.Fatalf("development conveniences should default on: %+v", c)
	}
	if c.OperationTimeout != 10*time.Second || c.MaxPageSize != 100 {
		t.Fatalf("limits: %+v", c)
	}
	if c.RateLimitAnonymous.String() != "300/1m0s" || c.RateLimitAPIKey.String() != "1200/1m0s" {
		t.Fatalf("rate limits: %v %v", c.RateLimitAnonymous, c.RateLimitAPIKey)
	}
	if c, err := Load(env(map[string]string{"FRONTDESK_RATE_LIMIT_STAFF": "off"})); err != nil || !c.RateLimitStaff.Off() {
		t.Fatalf("FRONTDESK_RATE_LIMIT_STAFF=off: %v %v", err, c)
	}
}

// production is the smallest environment serve accepts in production.
func production(extra map[string]string) map[string]string {
	m := map[string]string{"FRONTDESK_ENV": "production", "FRONTDESK_BOOKING_SECRET": strings.Repeat("s", 32),
		"FRONTDESK_STRIPE_SECRET_KEY": "sk_test_123", "FRONTDESK_STRIPE_WEBHOOK_SECRET": "whsec_123"}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestProductionSwitchesOffDeveloperFeatures(t *testing.T) {
	if _, err := Load(env(map[string]string{"FRONTDESK_ENV": "production"})); err == nil || !strings.Contains(err.Error(), "FRONTDESK_BOOKING_SECRET") {
		t.Fatalf("production without a booking secret: %v", err)
	}
	c, err := Load(env(production(nil)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Playground || c.Introspection || c.FieldSuggestions {
		t.Fatalf("production defaults: %+v", c)
	}
	c, err = Load(env(production(map[string]string{"FRONTDESK_INTROSPECTION": "true"})))
	if err != nil || !c.Introspection {
		t.Fatalf("explicit introspection in production: %v %+v", err, c)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	tests := []struct {
		name, value, wantInMsg string
	}{
		{"FRONTDESK_ADDR", "8080", "host:port"},
		{"FRONTDESK_ENV", "staging", "development or production"},
		{"FRONTDESK_DATABASE_URL", "postgres://x/y", "mysql://"},
		{"FRONTDESK_DATABASE_URL", "mysql://host", "mysql://"},
		{"FRONTDESK_REDIS_URL", "localhost:6379", "redis://"},
		{"FRONTDESK_SHUTDOWN_TIMEOUT", "soon", "duration"},
		{"FRONTDESK_MAX_DEPTH", "-1", "positive"},
		{"FRONTDESK_ALLOWED_ORIGINS", "*", "origins"},
		{"FRONTDESK_MIGRATE_ON_START", "maybe", "true or false"},
		{"FRONTDESK_LOG_LEVEL", "loud", "debug"},
		{"FRONTDESK_ORDER_URL", "https://shop.example.com/orders", "%s"},
		{"FRONTDESK_ORDER_URL", "/orders/%s", "absolute"},
		{"FRONTDESK_ORDER_URL", "https://shop.example.com/%s/%s", "one %s"},
		{"FRONTDESK_ORDER_RESERVATION", "0s", "positive duration"},
		{"FRONTDESK_RATE_LIMIT_USER", "lots", "N/period"},
		{"FRONTDESK_RATE_LIMIT_ANONYMOUS", "10/100ms", "whole seconds"},
		{"FRONTDESK_WEBHOOK_EVENT_RETENTION", "72h", "at least 720h"},
		{"FRONTDESK_SESSION_RETENTION", "0s", "positive duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			_, err := Load(env(map[string]string{tt.name: tt.value}))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("want *config.Error, got %v", err)
			}
			if !strings.Contains(err.Error(), tt.name) || !strings.Contains(err.Error(), tt.wantInMsg) {
				t.Fatalf("message %q should name %s and say %q", err, tt.name, tt.wantInMsg)
			}
		})
	}
}

func TestAllProblemsReportedAtOnce(t *testing.T) {
	_, err := Load(env(map[string]string{"FRONTDESK_ENV": "x", "FRONTDESK_ADDR": "y"}))
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Problems) != 2 {
		t.Fatalf("want 2 problems, got %v", err)
	}
}

func TestOrigins(t *testing.T) {
	c, err := Load(env(map[string]string{"FRONTDESK_ALLOWED_ORIGINS": "https://Shop.example.com, http://localhost:3000"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.AllowedOrigins, " "); got != "https://shop.example.com http://localhost:3000" {
		t.Fatalf("origins = %q", got)
	}
}

// TestDocsListEveryVariable keeps docs/configuration.md in step with the code.
func TestDocsListEveryVariable(t *testing.T) {
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Vars() {
		if !strings.Contains(string(doc), "`"+v.Name+"`") {
			t.Errorf("docs/configuration.md does not list %s", v.Name)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := Load(env(map[string]string{"FRONTDESK_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7, 2001:db8::/32"}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.TrustedProxies {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "10.0.0.0/8 192.0.2.7/32 2001:db8::/32" {
		t.Fatalf("trusted proxies = %v", got)
	}
	if _, err := Load(env(map[string]string{"FRONTDESK_TRUSTED_PROXIES": "10.0.0.0/33"})); err == nil || !strings.Contains(err.Error(), "FRONTDESK_TRUSTED_PROXIES") {
		t.Fatalf("bad range accepted: %v", err)
	}
}

func TestOrderURLDefaultsToTheApp(t *testing.T) {
	c, err := Load(env(map[string]string{"FRONTDESK_APP_URL": "https://shop.example.com/"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.OrderURL != "https://shop.example.com/orders/%s" || c.OrderReservation != 30*time.Minute {
		t.Fatalf("order url %q, reservation %s", c.OrderURL, c.OrderReservation)
	}
	c, err = Load(env(map[string]string{"FRONTDESK_ORDER_URL": "https://shop.example.com/account/orders/%s"}))
	if err != nil || c.OrderURL != "https://shop.example.com/account/orders/%s" {
		t.Fatalf("explicit order url: %v %q", err, c.OrderURL)
	}
}

func TestBookingReminders(t *testing.T) {
	tests := []struct {
		value string
		want  []time.Duration
		bad   bool
	}{
		{"", []time.Duration{24 * time.Hour, 2 * time.Hour}, false},
		{"48h, 30m", []time.Duration{48 * time.Hour, 30 * time.Minute}, false},
		{"none", nil, false},
		{"24h,24h", nil, true},
		{"-1h", nil, true},
		{"tomorrow", nil, true},
		{"1h,2h,3h,4h,5h,6h", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			c, err := Load(env(map[string]string{"FRONTDESK_BOOKING_REMINDERS": tt.value}))
			if tt.bad {
				if err == nil || !strings.Contains(err.Error(), "FRONTDESK_BOOKING_REMINDERS") {
					t.Fatalf("want an error naming the variable, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(c.BookingReminders) != fmt.Sprint(tt.want) {
				t.Fatalf("reminders %v, want %v", c.BookingReminders, tt.want)
			}
		})
	}
}

func TestBackupSettings(t *testing.T) {
	c, err := Load(env(map[string]string{"FRONTDESK_DATA_DIR": "/srv/fd"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.BackupStore != "auto" || c.BackupDir != "" || c.BackupKeep != 14 || c.BackupSchedule != "30 2 * * *" {
		t.Fatalf("backup defaults: %q %q %d %q", c.BackupStore, c.BackupDir, c.BackupKeep, c.BackupSchedule)
	}
	c, err = Load(env(map[string]string{"FRONTDESK_BACKUP_SCHEDULE": "OFF", "FRONTDESK_BACKUP_DIR": "/backups/", "FRONTDESK_BACKUP_STORE": "local"}))
	if err != nil || c.BackupSchedule != "" || c.BackupDir != "/backups" || c.BackupStore != "local" {
		t.Fatalf("off: %v %+v", err, c)
	}
	for _, bad := range []map[string]string{
		{"FRONTDESK_BACKUP_STORE": "ftp"},
		{"FRONTDESK_BACKUP_KEEP": "0"},
		{"FRONTDESK_BACKUP_STORE": "s3"}, // no bucket anywhere
	} {
		if _, err := Load(env(bad)); err == nil || !strings.Contains(err.Error(), "FRONTDESK_BACKUP_") {
			t.Errorf("%v accepted: %v", bad, err)
		}
	}
	if _, err := Load(env(map[string]string{"FRONTDESK_BACKUP_STORE": "s3", "FRONTDESK_S3_BUCKET": "media"})); err != nil {
		t.Errorf("s3 with the media bucket: %v", err)
	}
}

// Production never serves /metrics on the public listener by accident:
// without a token or an address it is off; with either it is where the
// operator put it. Development keeps it on the
// main listener for `make run`.
func TestMetricsProtectionDefaults(t *testing.T) {
	token := "metrics-token-0123456789"
	for _, c := range []struct {
		env              map[string]string
		wantAddr, wantTk string
	}{
		{map[string]string{}, "", ""},
		{map[string]string{"FRONTDESK_ENV": "production"}, MetricsOff, ""},
		{map[string]string{"FRONTDESK_METRICS_ADDR": "off"}, MetricsOff, ""},
		{map[string]string{"FRONTDESK_ENV": "production", "FRONTDESK_METRICS_TOKEN": token}, "", token},
		{map[string]string{"FRONTDESK_ENV": "production", "FRONTDESK_METRICS_ADDR": "10.0.0.5:9100"}, "10.0.0.5:9100", ""},
		{map[string]string{"FRONTDESK_METRICS_ADDR": "127.0.0.1:9464", "FRONTDESK_METRICS_TOKEN": token}, "127.0.0.1:9464", token},
	} {
		if c.env["FRONTDESK_ENV"] == "production" {
			c.env = production(c.env)
		}
		cfg, err := Load(env(c.env))
		if err != nil {
			t.Fatalf("%v: %v", c.env, err)
		}
		if cfg.MetricsAddr != c.wantAddr || cfg.MetricsToken != c.wantTk {
			t.Errorf("%v: addr %q token %q, want %q %q", c.env, cfg.MetricsAddr, cfg.MetricsToken, c.wantAddr, c.wantTk)
		}
	}
	for name, bad := range map[string]string{"FRONTDESK_METRICS_ADDR": "9464", "FRONTDESK_METRICS_TOKEN": "short"} {
		if _, err := Load(env(map[string]string{name: bad})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: %v", name, bad, err)
		}
	}
}

// TestEachCommandChecksWhatItUses: in production, migrate and the other
// maintenance commands start without the payment and booking settings
// serve needs; serve and worker report every missing one at once; seed
// never runs there.
func TestEachCommandChecksWhatItUses(t *testing.T) {
	bare := map[string]string{"FRONTDESK_ENV": "production", "FRONTDESK_DATABASE_URL": "mysql://u:p@db:3306/frontdesk"}
	missing := []string{"FRONTDESK_STRIPE_SECRET_KEY", "FRONTDESK_BOOKING_SECRET"}
	tests := []struct {
		cmd      Command
		env      map[string]string
		want     []string // problems named, in order; nil: loads
		payments bool
	}{
		{Serve, bare, missing, true},
		{Worker, bare, missing, true},
		{"", bare, missing, true},
		{Migrate, bare, nil, false},
		{Backup, bare, nil, false},
		{Restore, bare, nil, false},
		{Import, bare, nil, false},
		{Users, bare, nil, false},
		{Seed, bare, []string{"frontdesk seed writes demo data"}, false},
		{Seed, map[string]string{}, nil, false},
		{Serve, production(nil), nil, true},
		{Serve, production(map[string]string{"FRONTDESK_STRIPE_WEBHOOK_SECRET": ""}), []string{"FRONTDESK_STRIPE_WEBHOOK_SECRET: required"}, true},
		// A malformed value is reported for every command, and not again
		// as missing.
		{Migrate, map[string]string{"FRONTDESK_ENV": "production", "FRONTDESK_STRIPE_SECRET_KEY": "pk_live"}, []string{"FRONTDESK_STRIPE_SECRET_KEY=\"pk_live\""}, false},
		{Serve, map[string]string{"FRONTDESK_ENV": "production", "FRONTDESK_STRIPE_SECRET_KEY": "pk_live", "FRONTDESK_ADDR": "80"},
			[]string{"FRONTDESK_ADDR=\"80\"", "FRONTDESK_STRIPE_SECRET_KEY=\"pk_live\"", "FRONTDESK_BOOKING_SECRET"}, true},
		// The bootstrap pair is checked by the commands that apply it.
		{Migrate, map[string]string{"FRONTDESK_BOOTSTRAP_ADMIN_EMAIL": "root@example.com"}, []string{"FRONTDESK_BOOTSTRAP_ADMIN_EMAIL and FRONTDESK_BOOTSTRAP_ADMIN_PASSWORD_FILE: set both"}, false},
		{Users, map[string]string{"FRONTDESK_BOOTSTRAP_ADMIN_EMAIL": "root@example.com"}, nil, false},
		{Serve, map[string]string{"FRONTDESK_BOOTSTRAP_ADMIN_EMAIL": "Root <root@example.com>", "FRONTDESK_BOOTSTRAP_ADMIN_PASSWORD_FILE": "/x"}, []string{"FRONTDESK_BOOTSTRAP_ADMIN_EMAIL=\"Root <root@example.com>\": expected a bare email"}, true},
	}
	for _, tt := range tests {
		c, err := LoadFor(env(tt.env), tt.cmd)
		if tt.want == nil {
			if err != nil {
				t.Errorf("%q %v: %v", tt.cmd, tt.env, err)
			} else if c.TakesPayments() != tt.payments || c.Command != tt.cmd {
				t.Errorf("%q: TakesPayments %v, Command %q", tt.cmd, c.TakesPayments(), c.Command)
			}
			continue
		}
		var ce *Error
		if !errors.As(err, &ce) || len(ce.Problems) != len(tt.want) {
			t.Errorf("%q %v: %v, want %d problems %q", tt.cmd, tt.env, err, len(tt.want), tt.want)
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(ce.Problems[i], w) {
				t.Errorf("%q problem %d = %q, want %q", tt.cmd, i, ce.Problems[i], w)
			}
		}
	}
}
