// Package importtest makes directory files for tests and benchmarks: valid
// credit codes and large enterprise CSVs with a known share of bad rows.
package importtest

import (
	"encoding/csv"
	"fmt"
	"io"

	"github.com/spotcheck/spotcheck/server"
)

// CreditCode returns the n-th of a series of distinct valid unified social
// credit codes: registration authority 9, kind 1, a Shanghai district, an
// organisation code with its GB 11714 check character, and the final check.
func CreditCode(n int) string {
	body := fmt.Sprintf("%08d", n%100000000)
	first17 := "91310101" + body + string(server.OrgCodeCheckChar(body))
	return first17 + string(server.CreditCodeCheckChar(first17))
}

// BadCreditCode returns CreditCode(n) with a wrong final check character.
func BadCreditCode(n int) string {
	c := []byte(CreditCode(n))
	if c[17] == '0' {
		c[17] = '1'
	} else {
		c[17] = '0'
	}
	return string(c)
}

// EnterpriseHeader is the header WriteEnterprisesCSV writes.
var EnterpriseHeader = []string{"credit_code", "name", "category", "district", "address",
	"legal_representative", "licence_number", "status", "risk_class", "latitude", "longitude"}

// Stats says what WriteEnterprisesCSV wrote.
type Stats struct {
	Rows, Good, Bad int
	BadRows         []int // file row numbers of the bad rows (header = 1)
}

// WriteEnterprisesCSV writes a header and rows enterprise rows; every
// badEvery-th row (badEvery > 0) is bad, cycling through the kinds of
// mistake real files have. Good rows have distinct credit codes.
func WriteEnterprisesCSV(w io.Writer, rows, badEvery int) (Stats, error) {
	cw := csv.NewWriter(w)
	if err := cw.Write(EnterpriseHeader); err != nil {
		return Stats{}, err
	}
	var st Stats
	risk := []string{"A", "B", "C", "D", ""}
	for i := 1; i <= rows; i++ {
		rec := []string{
			CreditCode(i), fmt.Sprintf("上网服务营业场所%06d", i), server.CategoryInternetCafe,
			fmt.Sprintf("区县%02d", i%16), fmt.Sprintf("某市某区某路%d号", i), "张三",
			fmt.Sprintf("文网文[2026]%06d", i), "active", risk[i%len(risk)],
			fmt.Sprintf("%.6f", 31+float64(i%1000)/1000), fmt.Sprintf("%.6f", 121+float64(i%997)/1000),
		}
		if badEvery > 0 && i%badEvery == 0 {
			switch (i / badEvery) % 5 {
			case 0:
				rec[0] = BadCreditCode(i)
			case 1:
				rec[1] = ""
			case 2:
				rec[7] = "closed"
			case 3:
				rec[8] = "E"
			case 4:
				rec[9] = "north"
			}
			st.Bad++
			st.BadRows = append(st.BadRows, i+1)
		} else {
			st.Good++
		}
		st.Rows++
		if err := cw.Write(rec); err != nil {
			return st, err
		}
	}
	cw.Flush()
	return st, cw.Error()
}
