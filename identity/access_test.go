package identity

import (
	"context"
	"errors"
	"testing"
)

func TestRequire(t *testing.T) {
	tests := []struct {
		name   string
		viewer *Viewer
		perm   Permission
		want   error
	}{
		{"anonymous", nil, ManageCatalog, ErrUnauthenticated},
		{"customer", &Viewer{UserID: "usr_x", Role: RoleCustomer}, ManageCatalog, ErrForbidden},
		{"staff", &Viewer{Role: RoleStaff}, ManageCatalog, nil},
		{"staff cannot manage users", &Viewer{Role: RoleStaff}, ManageUsers, ErrForbidden},
		{"practitioner sees intake", &Viewer{Role: RolePractitioner}, ViewIntake, nil},
		{"admin", &Viewer{Role: RoleAdmin}, ManageJobs, nil},
		{"api key within scope", &Viewer{Role: RoleAdmin, APIKeyID: "key_x", Scopes: []Permission{ManageCatalog}}, ManageCatalog, nil},
		{"api key beyond scope", &Viewer{Role: RoleAdmin, APIKeyID: "key_x", Scopes: []Permission{ManageCatalog}}, ManageOrders, ErrForbidden},
		{"api key scope beyond creator", &Viewer{Role: RoleStaff, APIKeyID: "key_x", Scopes: []Permission{ManageUsers}}, ManageUsers, ErrForbidden},
		{"system", &Viewer{System: true}, ManageUsers, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.viewer != nil {
				ctx = WithViewer(ctx, tt.viewer)
			}
			_, err := Require(ctx, tt.perm)
			if !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
				t.Fatalf("Require = %v, want %v", err, tt.want)
			}
		})
	}
}
