package graph

import (
	"frontdesk/secret"

	"encoding/json"

	"frontdesk/ent"
	"frontdesk/graph/model"
	"frontdesk/identity"
)

// signInPayload shapes the result of register and signIn.
func signInPayload(in *identity.SignedIn, err error) (*model.SignInPayload, error) {
	ues, err := userErrors(err)
	if err != nil || len(ues) > 0 {
		return &model.SignInPayload{UserErrors: ues}, err
	}
	return &model.SignInPayload{User: in.User, Token: &in.Token, ExpiresAt: &in.Session.ExpiresAt, UserErrors: ues}, nil
}

// jsonString renders an audit before/after object; nil stays null.
func jsonString(m map[string]any) (*string, error) {
	if m == nil {
		return nil, nil
	}
	// Audit records are redacted when written; this covers rows written
	// before that, and any domain that forgets.
	b, err := json.Marshal(secret.Value(m))
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
}

func permissionsOf(scopes []string) []identity.Permission {
	out := make([]identity.Permission, len(scopes))
	for i, s := range scopes {
		out[i] = identity.Permission(s)
	}
	return out
}

// userPayload shapes the result of a mutation that changes a user.
func userPayload(u *ent.User, err error) (*model.UserPayload, error) {
	ues, err := userErrors(err)
	if err != nil {
		return nil, err
	}
	if len(ues) > 0 {
		u = nil
	}
	return &model.UserPayload{User: u, UserErrors: ues}, nil
}

// okPayload shapes the result of a mutation that only reports success.
func okPayload(err error) (*model.OkPayload, error) {
	ues, err := userErrors(err)
	if err != nil {
		return nil, err
	}
	return &model.OkPayload{Ok: len(ues) == 0, UserErrors: ues}, nil
}
