package web

import "testing"

// The Chinese part of the services' messages, the English gloss cut off
// even when it quotes a Chinese value.
func TestChinese(t *testing.T) {
	for msg, want := range map[string]string{
		"材料“营业执照”列了两次 (material \"营业执照\" is listed twice).":                                 "材料“营业执照”列了两次",
		"联系部门名称须为1-100字 (contact office must be 1-100 characters).":                         "联系部门名称须为1-100字",
		"抽查对象91350206600000012Q不在该抽查中 (target 91350206600000012Q is not in this campaign).": "抽查对象91350206600000012Q不在该抽查中",
		"送达日期须在告知书出具之日（2026-11-02）至今天（2026-11-02）之间":                                        "送达日期须在告知书出具之日（2026-11-02）至今天（2026-11-02）之间",
		"请填写 (1) 与 (2)": "请填写 (1) 与 (2)",
	} {
		if got := chinese(msg); got != want {
			t.Errorf("chinese(%q) = %q, want %q", msg, got, want)
		}
	}
}
