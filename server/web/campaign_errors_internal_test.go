package web

import (
	"testing"

	"github.com/spotcheck/spotcheck/server"
)

// The service's messages about a draft land on the field they are about.
func TestCampaignErrorField(t *testing.T) {
	for msg, want := range map[string]string{
		"任务名称 (name)须为1-200字节 (任务名称 (name) must be 1-200 bytes).":                                                 "name",
		"检查期结束日早于开始日 (the window ends before it starts).":                                                         "window_end",
		"检查期开始日不能早于今天2026-11-02 (the window may not start before today, 2026-11-02).":                             "window_start",
		"抽查比例无效 (invalid ratio): ratio \"0.5x\" is not a decimal":                                                 "ratio",
		"C类抽查比例无效 (invalid ratio for class C): x":                                                                 "ratio",
		"有3家企业不属于已列出的信用风险分类，且未设默认抽查比例 (3 enterprises are in no listed risk class and there is no default ratio).": "ratio",
		"公开随机数最早可知时间须在检查期结束之前 (sources_available_at must be before the window ends).":                             "sources_available_at",
		"须至少指定一个公开随机数来源 (name at least one public randomness source).":                                            "randomness_sources",
		"随机数来源 (randomness source)不能含制表符 (…)":                                                                     "randomness_sources",
		"检查事项WH-01@1已停用，请选用现行版本 (check item WH-01@1 is retired; use the current version).":                        "check_item_ids",
		"每组每部门执法人员数须为1-100 (inspectors per department must be 1-100).":                                            "inspectors_per_department",
		"区县名称不能含逗号 (a district may not contain a comma): \"a,b\"":                                                 "districts",
		"抽查方案已提交 (the campaign is already committed).":                                                            "",
	} {
		if got := fieldOf(errorText(server.Errorf(server.EINVALID, "%s", msg)), campaignFields); got != want {
			t.Errorf("%q: field %q, want %q", msg, got, want)
		}
	}
	if got := errorText(server.Errorf(server.EINVALID, "任务名称 (name)须为1-200字节 (任务名称 (name) must be 1-200 bytes).")); got != "任务名称须为1-200字节" {
		t.Errorf("error text %q", got)
	}
	if got := errorText(server.Errorf(server.EINVALID, "区县名称不能含逗号 (a district may not contain a comma): \"路南,区\"")); got != "区县名称不能含逗号" {
		t.Errorf("error text %q", got)
	}
	if got := errorText(server.Errorf(server.EINVALID, "抽查比例无效 (invalid ratio): ratio \"0.5x\" is not a decimal")); got != "抽查比例无效" {
		t.Errorf("error text %q", got)
	}
	if got := errorText(server.Errorf(server.ECONFLICT, "抽查任务当前状态为issued，不能组队 (the campaign is issued: drawing teams is not possible now).")); got != "抽查任务当前状态为“已下发检查表”，不能组队" {
		t.Errorf("error text %q", got)
	}
}
