package demo_test

import (
	"regexp"
	"strings"
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
}

// TestGenerate_Realistic: the demo city is Tangshan, every district and
// county of it and no other; credit codes carry their district's division
// code; names and addresses name the place; phones are 11-digit mobiles.
func TestGenerate_Realistic(t *testing.T) {
	tangshan := []string{"路南区", "路北区", "古冶区", "开平区", "丰南区", "丰润区", "曹妃甸区",
		"滦州市", "遵化市", "迁安市", "滦南县", "乐亭县", "迁西县", "玉田县"}
	byName := map[string]demo.District{}
	for _, dist := range demo.Districts {
		byName[dist.Name] = dist
	}
	if len(byName) != len(tangshan) {
		t.Fatalf("%d districts, want Tangshan's %d", len(byName), len(tangshan))
	}
	for _, name := range tangshan {
		if dist, ok := byName[name]; !ok || !strings.HasPrefix(dist.Code, "1302") {
			t.Fatalf("district %s: %+v", name, dist)
		}
	}
	d := demo.Generate(1000)
	for _, e := range d.Enterprises {
		dist := byName[e.District]
		if e.CreditCode[2:8] != dist.Code || !strings.Contains(e.Address, "唐山市"+e.District) ||
			!strings.Contains(e.Name, strings.TrimSuffix(e.District, "区")) || server.CheckCreditCode(e.CreditCode) != nil {
			t.Fatalf("enterprise %+v", e)
		}
	}
	mobile := regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	for _, in := range d.Inspectors {
		if !mobile.MatchString(in.Phone) {
			t.Fatalf("phone %q of %s is not an 11-digit mobile number", in.Phone, in.Name)
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
