// Package architecture holds the tests that keep docs/architecture.md and
// the code in agreement: every package is on the map, imports only what
// its row allows and never a package on a higher layer, and reads only the
// tables its domain owns (apart from the debts the page lists).
package architecture

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "frontdesk"

// root is the module root, two levels up from this package.
var root = filepath.Join("..", "..")

// entityClientMethods are the ent client methods that read or write a
// table: client.Product.Query(), tx.Variant.UpdateOneID(id) ...
var entityClientMethods = map[string]bool{
	"Query": true, "Get": true, "GetX": true, "Create": true, "CreateBulk": true, "MapCreateBulk": true,
	"Update": true, "UpdateOne": true, "UpdateOneID": true, "Delete": true, "DeleteOne": true, "DeleteOneID": true,
}

// exemptFromOwnership are packages that touch every table by design.
var exemptFromOwnership = []string{"backup", "database", "app", "cmd/", "internal/"}

type pkgRow struct {
	layer   int
	imports map[string]bool
}

type architecture struct {
	packages map[string]pkgRow
	owner    map[string]string          // ent type → owning package
	debts    map[string]map[string]bool // package → tables it may still touch
}

// code is what the hand-written Go code does: per package directory, its
// imports of the module's packages and the tables it touches.
type code struct {
	imports map[string]map[string]bool
	tables  map[string]map[string]bool
}

func TestPackagesFollowTheMap(t *testing.T) {
	arch := readArchitecture(t)
	c := readCode(t, arch)
	var problems []string
	for _, pkg := range sortedKeys(c.imports) {
		row, ok := arch.packages[pkg]
		if !ok {
			problems = append(problems, fmt.Sprintf("package %s is not on the map in docs/architecture.md: add its row (layer, what it is, what it may import)", pkg))
			continue
		}
		for _, imp := range sortedKeys(c.imports[pkg]) {
			dep, known := arch.packages[imp]
			switch {
			case !known:
				problems = append(problems, fmt.Sprintf("%s imports %s, which is not on the map", pkg, imp))
			case dep.layer > row.layer:
				problems = append(problems, fmt.Sprintf("%s (layer %d) imports %s (layer %d): dependencies point down, never up", pkg, row.layer, imp, dep.layer))
			case !row.imports[imp]:
				problems = append(problems, fmt.Sprintf("%s imports %s, which its row in docs/architecture.md does not allow", pkg, imp))
			}
		}
		for _, imp := range sortedKeys(row.imports) {
			if !c.imports[pkg][imp] {
				problems = append(problems, fmt.Sprintf("docs/architecture.md lets %s import %s, which it no longer does: remove it from the row", pkg, imp))
			}
		}
	}
	for _, pkg := range sortedKeys(arch.packages) {
		if _, ok := c.imports[pkg]; !ok {
			problems = append(problems, fmt.Sprintf("docs/architecture.md lists %s, which has no Go code", pkg))
		}
	}
	report(t, problems)
}

func TestDomainsOwnTheirTables(t *testing.T) {
	arch := readArchitecture(t)
	c := readCode(t, arch)
	var problems []string
	for _, entity := range entityTypes(t) {
		if arch.owner[entity] == "" {
			problems = append(problems, fmt.Sprintf("table %s has no owner in docs/architecture.md's ownership table", entity))
		}
	}
	for _, pkg := range sortedKeys(c.tables) {
		domain := domainOf(pkg)
		if exempt(pkg) {
			continue
		}
		for _, table := range sortedKeys(c.tables[pkg]) {
			owner := arch.owner[table]
			if owner == domain || arch.debts[pkg][table] {
				continue
			}
			problems = append(problems, fmt.Sprintf("%s touches %s, which %s owns: ask %s for a function instead", pkg, table, owner, owner))
		}
	}
	for _, pkg := range sortedKeys(arch.debts) {
		for _, table := range sortedKeys(arch.debts[pkg]) {
			if !c.tables[pkg][table] {
				problems = append(problems, fmt.Sprintf("%s no longer touches %s: delete it from the debts in docs/architecture.md", pkg, table))
			}
		}
	}
	report(t, problems)
}

func report(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}

// domainOf is the package that owns tables for pkg: a domain's
// sub-packages (booking/intake) count as the domain.
func domainOf(pkg string) string {
	first, _, _ := strings.Cut(pkg, "/")
	return first
}

func exempt(pkg string) bool {
	for _, e := range exemptFromOwnership {
		if pkg == e || (strings.HasSuffix(e, "/") && strings.HasPrefix(pkg, e)) {
			return true
		}
	}
	return false
}

var backticked = regexp.MustCompile("`([^`]+)`")

// readArchitecture parses the three tables of docs/architecture.md.
func readArchitecture(t *testing.T) architecture {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatalf("docs/architecture.md: %v", err)
	}
	defer f.Close()
	arch := architecture{packages: map[string]pkgRow{}, owner: map[string]string{}, debts: map[string]map[string]bool{}}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			section = strings.TrimSpace(strings.TrimLeft(line, "#"))
			continue
		}
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		names := func(i int) []string {
			var out []string
			for _, m := range backticked.FindAllStringSubmatch(cells[i], -1) {
				out = append(out, m[1])
			}
			return out
		}
		switch section {
		case "Package map and allowed imports":
			if len(cells) != 4 {
				t.Fatalf("docs/architecture.md: package row without 4 cells: %s", line)
			}
			layer, err := strconv.Atoi(strings.TrimSpace(cells[1]))
			if err != nil {
				t.Fatalf("docs/architecture.md: layer of %q: %v", line, err)
			}
			row := pkgRow{layer: layer, imports: map[string]bool{}}
			for _, imp := range names(3) {
				row.imports[imp] = true
			}
			arch.packages[names(0)[0]] = row
		case "Table ownership":
			for _, table := range names(1) {
				if prev := arch.owner[table]; prev != "" {
					t.Fatalf("docs/architecture.md: %s owned by both %s and %s", table, prev, names(0)[0])
				}
				arch.owner[table] = names(0)[0]
			}
		case "Reads across ownership still to move":
			pkg := names(0)[0]
			arch.debts[pkg] = map[string]bool{}
			for _, table := range names(1) {
				arch.debts[pkg][table] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(arch.packages) == 0 || len(arch.owner) == 0 {
		t.Fatal("docs/architecture.md: the package map or the ownership table is missing")
	}
	return arch
}

// entityTypes lists the ent types, from the fields of ent.Client.
func entityTypes(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, "ent", "client.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "Client" {
			return true
		}
		for _, field := range ts.Type.(*ast.StructType).Fields.List {
			star, ok := field.Type.(*ast.StarExpr)
			if !ok {
				continue
			}
			if id, ok := star.X.(*ast.Ident); ok && strings.HasSuffix(id.Name, "Client") && len(field.Names) == 1 {
				out = append(out, field.Names[0].Name)
			}
		}
		return false
	})
	if len(out) == 0 {
		t.Fatal("no entity clients found in ent/client.go")
	}
	return out
}

// vocabulary is the enum types of the ent package at importPath (type
// State string) and their values (StateHELD): a table's states are its
// owner's public words, which other packages may name (compare a change's
// state, map it to a GraphQL enum) without reading the table.
func vocabulary(t *testing.T, importPath string) map[string]bool {
	t.Helper()
	if words, ok := vocabularies[importPath]; ok {
		return words
	}
	name := path.Base(importPath)
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, "ent", name, name+".go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	words := map[string]bool{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, spec := range gd.Specs {
			switch s := spec.(type) {
			case *ast.TypeSpec:
				if id, ok := s.Type.(*ast.Ident); ok && id.Name == "string" {
					words[s.Name.Name] = true
				}
			case *ast.ValueSpec:
				if id, ok := s.Type.(*ast.Ident); ok && words[id.Name] {
					for _, n := range s.Names {
						words[n.Name] = true
					}
				}
			}
		}
	}
	vocabularies[importPath] = words
	return words
}

var vocabularies = map[string]map[string]bool{}

// onlyNamesEnums reports whether f uses the package it imports with imp
// for nothing but words (enum types and values): no predicates, fields,
// orders or queries, so it does not touch the table.
func onlyNamesEnums(f *ast.File, imp *ast.ImportSpec, importPath string, words map[string]bool) bool {
	local := path.Base(importPath)
	if imp.Name != nil {
		local = imp.Name.Name
	}
	only := true
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == local && !words[sel.Sel.Name] {
				only = false
			}
		}
		return only
	})
	return only
}

// readCode parses every hand-written, non-test Go file of the module
// (generated files and ent/ are gqlgen's and ent's, not ours).
func readCode(t *testing.T, arch architecture) code {
	t.Helper()
	entities := entityTypes(t)
	isEntity := map[string]bool{}
	byPackage := map[string]string{} // ent/<lower> → entity
	for _, e := range entities {
		isEntity[e] = true
		byPackage[module+"/ent/"+strings.ToLower(e)] = e
	}
	c := code{imports: map[string]map[string]bool{}, tables: map[string]map[string]bool{}}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "ent" || d.Name() == "node_modules" || d.Name() == "testdata" || (strings.HasPrefix(d.Name(), ".") && rel != ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		pkg := filepath.ToSlash(filepath.Dir(rel))
		if f.Name.Name == "main" && pkg == "." {
			return nil
		}
		if c.imports[pkg] == nil {
			c.imports[pkg] = map[string]bool{}
			c.tables[pkg] = map[string]bool{}
		}
		generated := ast.IsGenerated(f)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if entity, ok := byPackage[p]; ok && !generated && !onlyNamesEnums(f, imp, p, vocabulary(t, p)) {
				c.tables[pkg][entity] = true
			}
			if p == module+"/ent" || strings.HasPrefix(p, module+"/ent/") || !strings.HasPrefix(p, module+"/") {
				continue
			}
			c.imports[pkg][strings.TrimPrefix(p, module+"/")] = true
		}
		if generated {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !entityClientMethods[sel.Sel.Name] {
				return true
			}
			if inner, ok := sel.X.(*ast.SelectorExpr); ok && isEntity[inner.Sel.Name] {
				c.tables[pkg][inner.Sel.Name] = true
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return slices.Clip(keys)
}
