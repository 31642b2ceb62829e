package web

import (
	"testing"

	"github.com/spotcheck/spotcheck/server"
)

// The Chinese part of the services' messages: the English gloss cut off
// even when it quotes a Chinese value, field names' glosses inside too,
// and any detail after the gloss (a quoted value, English).
func TestChinese(t *testing.T) {
	for msg, want := range map[string]string{
		"材料“营业执照”列了两次 (material \"营业执照\" is listed twice).":                                 "材料“营业执照”列了两次",
		"联系部门名称须为1-100字 (contact office must be 1-100 characters).":                         "联系部门名称须为1-100字",
		"抽查对象91350206600000012Q不在该抽查中 (target 91350206600000012Q is not in this campaign).": "抽查对象91350206600000012Q不在该抽查中",
		"送达日期须在告知书出具之日（2026-11-02）至今天（2026-11-02）之间":                                        "送达日期须在告知书出具之日（2026-11-02）至今天（2026-11-02）之间",
		"请填写 (1) 与 (2)": "请填写 (1) 与 (2)",
		"材料 (material)须为1-200字节 (材料 (material) must be 1-200 bytes).":                                                "材料须为1-200字节",
		"材料 (material)不能以=、+、-、@开头 (材料 (material) may not start with =, +, - or @): \"=SUM(A1)\"":                    "材料不能以=、+、-、@开头",
		"联系电话须为带区号的办公电话，如0592-5550123 (contact phone must be an office line with its area code, e.g. 0592-5550123).": "联系电话须为带区号的办公电话，如0592-5550123",
		"该抽查尚未生成检查包，无法出具告知书 (the campaign's packets are not issued yet, so there are no letters).":                   "该抽查尚未生成检查包，无法出具告知书",
		"用户名或密码错误":                             "用户名或密码错误",
		"部门名称不能为空 (department name required).": "部门名称不能为空",
		`统一社会信用代码校验位错误 (credit code check character is wrong): "91350200MA2Y00000X"`:        "统一社会信用代码校验位错误",
		"企业名称 (name)过长，最多200字节 (企业名称 (name) is longer than 200 bytes).":                     "企业名称过长，最多200字节",
		"撤回须说明理由（500字节以内）(a withdrawal needs a reason of at most 500 bytes).":               "撤回须说明理由（500字节以内）",
		"抽查比例无效 (invalid ratio): ratio \"0.5x\" is not a decimal":                           "抽查比例无效",
		"抽查任务当前状态为issued，不能组队 (the campaign is issued: drawing teams is not possible now).": "抽查任务当前状态为issued，不能组队",
		"随机数来源 (randomness source)不能含制表符 (…)":                                               "随机数来源不能含制表符 (…)",
	} {
		if got := chinese(msg); got != want {
			t.Errorf("chinese(%q) = %q, want %q", msg, got, want)
		}
	}
	if got := errorText(server.Errorf(server.EINTERNAL, "pq: connection refused")); got == "" || got == "pq: connection refused" {
		t.Errorf("an internal error shows %q", got)
	}
}
