package demo_test

import (
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/demo"
)

func TestGenerate(t *testing.T) {
	d := demo.Generate(1000)
	if len(d.Enterprises) != 1000 || len(d.Inspectors) != 40 {
		t.Fatalf("%d enterprises, %d inspectors", len(d.Enterprises), len(d.Inspectors))
	}
	codes := map[string]bool{}
	districts := map[string]int{}
	for _, e := range d.Enterprises {
		if err := e.Validate(); err != nil {
			t.Fatalf("%s: %v", e.CreditCode, err)
		}
		if codes[e.CreditCode] {
			t.Fatalf("duplicate credit code %s", e.CreditCode)
		}
		codes[e.CreditCode] = true
		districts[e.District]++
	}
	if len(districts) != len(demo.Districts) {
		t.Fatalf("districts %v", districts)
	}
	for i, in := range d.Inspectors {
		in.DepartmentID = 1 // assigned when stored
		if err := in.Validate(); err != nil {
			t.Fatalf("inspector %d: %v", i, err)
		}
	}
	// Same seed, same data: the README's walk-through depends on it.
	if again := demo.Generate(1000); again.Enterprises[999].CreditCode != d.Enterprises[999].CreditCode {
		t.Fatal("demo data is not deterministic")
	}
	for _, a := range d.Accounts {
		u := server.User{Username: a.Username, Role: a.Role, DepartmentID: new(int64)}
		if a.Role == server.RoleInspector {
			u.InspectorID = new(int64)
		}
		if err := u.Validate(); err != nil {
			t.Fatalf("account %s: %v", a.Username, err)
		}
	}
}
