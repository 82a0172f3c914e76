package graph

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
)

// PrintSchema writes the public schema in a stable, readable order.
func PrintSchema(w io.Writer) error {
	var buf bytes.Buffer
	formatter.NewFormatter(&buf, formatter.WithIndent("  "), formatter.WithComments()).FormatSchema(parsedSchema)
	_, err := w.Write(buf.Bytes())
	return err
}

// LoadSchema parses a printed schema, such as the committed contract.
func LoadSchema(src string) (*ast.Schema, error) {
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: src})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// BreakingChanges lists the changes from old to cur that can break a
// client written against old: a type or field removed, a field's or
// argument's type changed, a required argument or input field added, an
// enum value removed. Additions and deprecations are not breaking.
func BreakingChanges(old, cur *ast.Schema) []string {
	var out []string
	for name, ot := range old.Types {
		if ot.BuiltIn {
			continue
		}
		ct, ok := cur.Types[name]
		if !ok {
			out = append(out, fmt.Sprintf("type %s was removed", name))
			continue
		}
		if ct.Kind != ot.Kind {
			out = append(out, fmt.Sprintf("type %s changed kind from %s to %s", name, ot.Kind, ct.Kind))
			continue
		}
		switch ot.Kind {
		case ast.Object, ast.Interface, ast.InputObject:
			out = append(out, fieldChanges(ot, ct)...)
		case ast.Enum:
			for _, v := range ot.EnumValues {
				if ct.EnumValues.ForName(v.Name) == nil {
					out = append(out, fmt.Sprintf("enum value %s.%s was removed", name, v.Name))
				}
			}
		case ast.Union:
			for _, t := range ot.Types {
				if !contains(ct.Types, t) {
					out = append(out, fmt.Sprintf("union %s no longer includes %s", name, t))
				}
			}
		}
		for _, iface := range ot.Interfaces {
			if !contains(ct.Interfaces, iface) {
				out = append(out, fmt.Sprintf("type %s no longer implements %s", name, iface))
			}
		}
	}
	sort.Strings(out)
	return out
}

func fieldChanges(ot, ct *ast.Definition) []string {
	var out []string
	for _, of := range ot.Fields {
		if strings.HasPrefix(of.Name, "__") {
			continue
		}
		cf := ct.Fields.ForName(of.Name)
		where := ot.Name + "." + of.Name
		if cf == nil {
			out = append(out, fmt.Sprintf("field %s was removed", where))
			continue
		}
		if of.Type.String() != cf.Type.String() {
			// Output fields may become stricter (String -> String!) without
			// breaking readers; input fields may only become looser.
			if ot.Kind == ast.InputObject {
				if !looser(cf.Type, of.Type) {
					out = append(out, fmt.Sprintf("input field %s changed type from %s to %s", where, of.Type, cf.Type))
				}
			} else if !looser(of.Type, cf.Type) {
				out = append(out, fmt.Sprintf("field %s changed type from %s to %s", where, of.Type, cf.Type))
			}
		}
		for _, oa := range of.Arguments {
			ca := cf.Arguments.ForName(oa.Name)
			if ca == nil {
				out = append(out, fmt.Sprintf("argument %s(%s) was removed", where, oa.Name))
				continue
			}
			if oa.Type.String() != ca.Type.String() && !looser(ca.Type, oa.Type) {
				out = append(out, fmt.Sprintf("argument %s(%s) changed type from %s to %s", where, oa.Name, oa.Type, ca.Type))
			}
		}
		for _, ca := range cf.Arguments {
			if of.Arguments.ForName(ca.Name) == nil && ca.Type.NonNull && ca.DefaultValue == nil {
				out = append(out, fmt.Sprintf("required argument %s(%s) was added", where, ca.Name))
			}
		}
	}
	if ot.Kind == ast.InputObject {
		for _, cf := range ct.Fields {
			if ot.Fields.ForName(cf.Name) == nil && cf.Type.NonNull && cf.DefaultValue == nil {
				out = append(out, fmt.Sprintf("required input field %s.%s was added", ct.Name, cf.Name))
			}
		}
	}
	return out
}

// looser reports whether type a accepts every value type b accepts: the
// same named type and list shape, with a nullable wherever b is.
func looser(a, b *ast.Type) bool {
	if a.NonNull && !b.NonNull {
		return false
	}
	if (a.Elem == nil) != (b.Elem == nil) {
		return false
	}
	if a.Elem != nil {
		return looser(a.Elem, b.Elem)
	}
	return a.NamedType == b.NamedType
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
