package server_test

import (
	"testing"

	"github.com/spotcheck/spotcheck/server"
)

func TestLeadContact_Validate(t *testing.T) {
	for _, tc := range []struct {
		office, phone string
		ok            bool
	}{
		{"", "", true}, // unset: the letter leaves a line to fill in
		{"市文化市场综合执法支队办公室", "0592-5550123", true},
		{"办公室", "05925550123", true},
		{"办公室", "010-65550123", true},
		{"办公室", "0592-5550123-806", true},
		{"办公室", "400-123-4567", true},
		{"办公室", "12345", true},
		{"办公室", "13905921234", false}, // a mobile: a person's phone
		{"办公室", "+8613905921234", false},
		{"办公室", "139-0592-1234", false},
		{"办公室", "5550123", false},      // no area code
		{"办公室", "0592-0550123", false}, // a local number never starts with 0
		{"办公室", "0592 5550123", false}, // one form only
		{"", "0592-5550123", false},    // whose line?
		{"办公室", "", false},
		{"办\t公室", "0592-5550123", false},
		{string(make([]rune, 101)), "0592-5550123", false},
	} {
		c := server.LeadContact{Office: tc.office, Phone: tc.phone}
		err := c.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%q %q: %v", tc.office, tc.phone, err)
		}
		if err != nil && server.ErrorCode(err) != server.EINVALID {
			t.Errorf("%q %q: code %s", tc.office, tc.phone, server.ErrorCode(err))
		}
	}
}

func TestLetterDelivery_Validate(t *testing.T) {
	ok := func() server.LetterDelivery {
		return server.LetterDelivery{CreditCode: "91350200MA00000001", DeliveredOn: server.Date{Year: 2026, Month: 12, Day: 7}, Method: server.DeliveryPost}
	}
	d := ok()
	d.Note = "  挂号信  "
	if err := d.Validate(); err != nil || d.Note != "挂号信" {
		t.Fatalf("valid record: %v, note %q", err, d.Note)
	}
	for name, alter := range map[string]func(d *server.LetterDelivery){
		"NoTarget": func(d *server.LetterDelivery) { d.CreditCode = "" },
		"NoDate":   func(d *server.LetterDelivery) { d.DeliveredOn = server.Date{} },
		"Method":   func(d *server.LetterDelivery) { d.Method = "fax" },
		"Proof":    func(d *server.LetterDelivery) { d.ProofSHA256 = "ABCDEF" },
		"LongNote": func(d *server.LetterDelivery) { d.Note = string(make([]rune, server.MaxDeliveryNote+1)) },
	} {
		d := ok()
		alter(&d)
		if err := d.Validate(); server.ErrorCode(err) != server.EINVALID {
			t.Errorf("%s: %v", name, err)
		}
	}
	for m, label := range map[server.DeliveryMethod]string{server.DeliveryInPerson: "直接送达", server.DeliveryPost: "邮寄送达", server.DeliveryElectronic: "电子送达"} {
		if !m.Valid() || m.Label() != label {
			t.Errorf("%s: %v %s", m, m.Valid(), m.Label())
		}
	}
}
