package importer

import (
	"fmt"
	"strings"

	"github.com/spotcheck/spotcheck/server"
)

// column is a field the importer knows: its canonical (English) name, the
// other headers that mean it, and whether a file must have it.
type column struct {
	name     string
	aliases  []string
	required bool
}

var enterpriseColumns = []column{
	{"credit_code", []string{"统一社会信用代码", "社会信用代码", "信用代码"}, true},
	{"name", []string{"企业名称", "名称", "主体名称"}, true},
	{"category", []string{"类别", "行业类别"}, true},
	{"district", []string{"所属区县", "区县"}, true},
	{"address", []string{"地址", "经营场所", "住所"}, false},
	{"legal_representative", []string{"法定代表人", "负责人"}, false},
	{"licence_number", []string{"license_number", "许可证号", "许可证编号"}, false},
	{"status", []string{"经营状态", "状态", "登记状态"}, false},
	{"risk_class", []string{"信用风险分类", "风险分类"}, false},
	{"latitude", []string{"lat", "纬度"}, false},
	{"longitude", []string{"lng", "lon", "经度"}, false},
}

var inspectorColumns = []column{
	{"department", []string{"department_code", "部门", "部门代码"}, true},
	{"name", []string{"姓名"}, true},
	{"certificate_number", []string{"执法证号", "执法证件号"}, true},
	{"certificate_valid_from", []string{"执法证有效期起"}, true},
	{"certificate_valid_until", []string{"执法证有效期止"}, true},
	{"domains", []string{"执法领域"}, false},
	{"phone", []string{"电话", "联系电话"}, false},
	{"status", []string{"状态"}, false},
}

// normalizeHeader folds a header cell for matching: no surrounding spaces or
// required-field stars, lower case, spaces as underscores.
func normalizeHeader(s string) string {
	s = strings.TrimSpace(s)
	s = strings.Trim(s, "*＊ \u3000")
	s = strings.ToLower(s)
	return strings.Join(strings.Fields(s), "_")
}

// header maps canonical column names to their index in a file's rows.
type header struct {
	width int
	index map[string]int
	names []string // names[i]: the canonical name of column i, "" if not read
}

// mapHeader reads the header row. An unknown header is ignored (files often
// carry extra columns); a missing required column or a column given twice is
// a whole-file EINVALID, reported before anything is written.
func mapHeader(cells []string, cols []column) (*header, error) {
	byName := map[string]string{}
	for _, c := range cols {
		byName[c.name] = c.name
		for _, a := range c.aliases {
			byName[normalizeHeader(a)] = c.name
		}
	}
	h := &header{width: len(cells), index: map[string]int{}, names: make([]string, len(cells))}
	for i, cell := range cells {
		name, ok := byName[normalizeHeader(cell)]
		if !ok {
			continue
		}
		if j, dup := h.index[name]; dup {
			return nil, server.Errorf(server.EINVALID, "表头第%d列与第%d列重复，都表示%s (header columns %d and %d both mean %s).", j+1, i+1, name, j+1, i+1, name)
		}
		h.index[name] = i
		h.names[i] = name
	}
	var missing []string
	for _, c := range cols {
		if _, ok := h.index[c.name]; c.required && !ok {
			zh := c.name
			if len(c.aliases) > 0 {
				zh = c.aliases[len(c.aliases)-1]
				for _, a := range c.aliases {
					if a != "" && a[0] >= 0x80 { // the first Chinese alias
						zh = a
						break
					}
				}
			}
			missing = append(missing, fmt.Sprintf("%s/%s", zh, c.name))
		}
	}
	if len(missing) > 0 {
		return nil, server.Errorf(server.EINVALID, "缺少必需的列：%s (missing required columns: %s).",
			strings.Join(missing, "、"), strings.Join(missing, ", "))
	}
	return h, nil
}

// check returns a row error if the row's width does not match the header.
// With strict (CSV) every row has exactly the header's width; otherwise
// (XLSX) a row may be shorter but must have nothing beyond the header.
func (h *header) check(row int, fields []string, strict bool) *server.ImportRowError {
	n := len(fields)
	if !strict {
		for n > h.width && strings.TrimSpace(fields[n-1]) == "" {
			n--
		}
	}
	if n == h.width || (!strict && n < h.width) {
		return nil
	}
	return &server.ImportRowError{Row: row, Code: CodeWrongColumnCount,
		Message: fmt.Sprintf("该行有%d列，表头有%d列 (the row has %d columns, the header %d).", n, h.width, n, h.width)}
}

// record is one data row, read by canonical column name.
type record struct {
	hdr    *header
	fields []string
}

// get returns the trimmed value of column name, "" if the file lacks it.
func (r record) get(name string) string {
	i, ok := r.hdr.index[name]
	if !ok || i >= len(r.fields) {
		return ""
	}
	return strings.TrimSpace(r.fields[i])
}

// checkText rejects a row whose cells the importer reads hold a control
// character (NUL, which PostgreSQL cannot store, among them): no directory
// field is free text, so tabs and line breaks are refused too.
func (r record) checkText(row int) *server.ImportRowError {
	for i, f := range r.fields {
		name, ok := r.hdr.name(i)
		if ok && server.ControlChar(strings.TrimSpace(f), false) {
			return &server.ImportRowError{Row: row, Column: name, Code: CodeInvalidCharacter,
				Message: fmt.Sprintf("%s含有控制字符（如NUL、换行） (%s contains a control character such as NUL or a line break).", fieldNames[name], name)}
		}
	}
	return nil
}

// name returns the canonical name of the column at index i, if the importer reads it.
func (h *header) name(i int) (string, bool) {
	if i >= len(h.names) || h.names[i] == "" {
		return "", false
	}
	return h.names[i], true
}
