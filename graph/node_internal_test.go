package graph

import "testing"

// TestEveryNodeTypeNeedsARule: the start-up check refuses a Node type
// without a visibility rule (it would otherwise be hidden from everyone,
// or, before the rules, shown to everyone) and a rule for a type that is
// not a Node; the real schema passes.
func TestEveryNodeTypeNeedsARule(t *testing.T) {
	var names []string
	for _, d := range parsedSchema.GetPossibleTypes(parsedSchema.Types["Node"]) {
		names = append(names, d.Name)
	}
	if err := checkNodeRules(names, nodeRules); err != nil {
		t.Fatalf("the schema's Node types: %v", err)
	}
	if err := checkNodeRules(append(names, "Cart"), nodeRules); err == nil {
		t.Fatal("a Node type without a rule passed")
	}
	rules := map[string]nodeRule{"Extra": public}
	for k, v := range nodeRules {
		rules[k] = v
	}
	if err := checkNodeRules(names, rules); err == nil {
		t.Fatal("a rule for a type that is not a Node passed")
	}
}
