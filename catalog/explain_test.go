package catalog_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"entgo.io/ent/dialect"

	"frontdesk/catalog"
	"frontdesk/database"
	"frontdesk/ent/category"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

// recorder keeps the statements a listing runs, for EXPLAIN.
type recorder struct {
	dialect.Driver
	mu   sync.Mutex
	seen []recorded
}

type recorded struct {
	query string
	args  []any
}

func (r *recorder) Query(ctx context.Context, query string, args, v any) error {
	r.mu.Lock()
	a, _ := args.([]any)
	r.seen = append(r.seen, recorded{query, a})
	r.mu.Unlock()
	return r.Driver.Query(ctx, query, args, v)
}

// TestExplainListings prints the query plan of every statement a cold
// listing runs, per filter and sort, on FRONTDESK_EXPLAIN products (set it
// to run; docs/benchmarks.md records the plans). It fails on a plan that
// scans the products table or sorts it with a temporary B-tree where an
// index could serve.
func TestExplainListings(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("FRONTDESK_EXPLAIN"))
	if n <= 0 {
		t.Skip("set FRONTDESK_EXPLAIN=<products> to print the plans")
	}
	rec := &recorder{}
	db := testenv.DB(t, database.Options{Driver: func(d dialect.Driver) dialect.Driver { rec.Driver = d; return rec }})
	s := catalog.New(db.Client, db.Dialect, nil, nil, catalog.Options{})
	ctx := context.Background()
	if _, err := s.SeedLarge(ctx, n); err != nil {
		t.Fatal(err)
	}
	leaf := db.Client.Category.Query().Where(category.ParentIDNotNil()).FirstIDX(ctx)
	root := db.Client.Category.Query().Where(category.ParentIDIsNil()).FirstIDX(ctx)
	col := db.Client.Collection.Query().FirstIDX(ctx)
	// Half-way through every product (staff see all statuses), as
	// BenchmarkCatalogHTTP's deep case: about half the active products
	// sort after it.
	half, err := s.Products(identity.SystemContext(ctx), catalog.ListArgs{First: ptr(n / 2)})
	if err != nil {
		t.Fatal(err)
	}
	deep := half.Cursors[len(half.Cursors)-1]
	yes := true
	for _, c := range []struct {
		name string
		args catalog.ListArgs
	}{
		{"newest", catalog.ListArgs{}},
		{"price", catalog.ListArgs{Sort: catalog.SortPrice}},
		{"title", catalog.ListArgs{Sort: catalog.SortTitle}},
		{"deep cursor", catalog.ListArgs{After: &deep}},
		{"deep cursor, price max", catalog.ListArgs{After: &deep, Filter: catalog.Filter{PriceMax: ptr(int64(1_000_000_000))}}},
		{"price max", catalog.ListArgs{Filter: catalog.Filter{PriceMax: ptr(int64(1_000_000_000))}}},
		{"leaf category", catalog.ListArgs{Filter: catalog.Filter{CategoryID: &leaf}}},
		{"root category", catalog.ListArgs{Filter: catalog.Filter{CategoryID: &root}}},
		{"collection", catalog.ListArgs{Filter: catalog.Filter{CollectionID: &col}}},
		{"price range", catalog.ListArgs{Filter: catalog.Filter{PriceMin: ptr(int64(1000)), PriceMax: ptr(int64(3000))}}},
		{"in stock", catalog.ListArgs{Filter: catalog.Filter{InStock: &yes}}},
		{"tag", catalog.ListArgs{Filter: catalog.Filter{Tags: []string{"tea"}}}},
		{"search", catalog.ListArgs{Filter: catalog.Filter{Search: "calm"}}},
		{"search by price", catalog.ListArgs{Filter: catalog.Filter{Search: "calm"}, Sort: catalog.SortPrice}},
	} {
		_ = s.Invalidate(ctx)
		rec.mu.Lock()
		rec.seen = nil
		rec.mu.Unlock()
		page, err := s.Products(ctx, c.args)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if _, err := s.TotalCount(ctx, page); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var out strings.Builder
		fmt.Fprintf(&out, "== %s (%s, %d products)\n", c.name, db.Dialect, n)
		for _, q := range rec.seen {
			if !strings.Contains(q.query, "`products`") && !strings.Contains(q.query, `"products"`) {
				continue // edges by primary or foreign key
			}
			explain := "EXPLAIN QUERY PLAN "
			if db.Dialect == dialect.MySQL {
				explain = "EXPLAIN "
			}
			rows, err := db.SQL.QueryContext(ctx, explain+q.query, q.args...)
			if err != nil {
				t.Fatalf("%s: explain: %v", c.name, err)
			}
			cols, _ := rows.Columns()
			fmt.Fprintf(&out, "%s\n", q.query)
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				var parts []string
				for i, v := range vals {
					if b, ok := v.([]byte); ok {
						v = string(b)
					}
					if v != nil {
						parts = append(parts, fmt.Sprintf("%s=%v", cols[i], v))
					}
				}
				fmt.Fprintf(&out, "  %s\n", strings.Join(parts, " "))
			}
			rows.Close()
		}
		t.Log(out.String())
	}
}
