package database

import (
	"context"

	entgo "entgo.io/ent"

	"frontdesk/ent/intercept"
)

// AlwaysLoad is a query interceptor that keeps cols among the columns a
// query reads when it narrows them: GraphQL field collection selects only
// what an operation asks for, but a view rule decides from columns such as
// an appointment's patient and practitioner, and without them it would
// read each row again. Queries that read every column, counts and
// single-column selects are left alone. Register it with
// client.<Type>.Intercept at start-up.
func AlwaysLoad(cols ...string) intercept.TraverseFunc {
	return func(ctx context.Context, _ intercept.Query) error {
		qc := entgo.QueryFromContext(ctx)
		if qc == nil || len(qc.Fields) == 0 {
			return nil
		}
		switch qc.Op {
		case entgo.OpQueryAll, entgo.OpQueryOnly, entgo.OpQueryFirst:
			for _, c := range cols {
				qc.AppendFieldOnce(c)
			}
		}
		return nil
	}
}
