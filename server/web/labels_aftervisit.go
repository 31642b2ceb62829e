package web

import (
	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// Labels of the after-the-visit screens (results, review, publication,
// follow-ups), as template helpers.
func init() {
	funcs["resultListState"] = resultListStateLabel
	funcs["resultStatus"] = func(r syncproto.Result) string { return resultListStateLabel(listState(r)) }
	funcs["listState"] = listState
	funcs["answerResult"] = answerResultLabel
	funcs["outcome"] = outcomeLabel
	funcs["signerRole"] = signerRoleLabel
	funcs["flagLabel"] = flagLabel
	funcs["resolutionField"] = resolutionField
	funcs["followUpState"] = followUpStateLabel
	funcs["followUpAction"] = followUpActionLabel
	funcs["followUpSummary"] = followUpSummaryLabel
	funcs["overdueLabel"] = overdueLabel
}

func resultListStateLabel(s string) string {
	if s == resultStatePublished {
		return "已公示"
	}
	return resultStateLabel(s)
}

func labelIn(m map[string]string, key string) string {
	if l, ok := m[key]; ok {
		return l
	}
	return "未知"
}

var answerResultLabels = map[string]string{
	syncproto.ResultCompliant: "符合", syncproto.ResultNonCompliant: "不符合",
	syncproto.ResultNotApplicable: "不适用", syncproto.ResultNotChecked: "未检查",
}

// answerResultLabel names an answer's result; a text or number item has none.
func answerResultLabel(s string) string {
	if s == "" {
		return "—"
	}
	return labelIn(answerResultLabels, s)
}

var outcomeLabels = map[string]string{
	syncproto.OutcomeSigned: "法定代表人签字盖章", syncproto.OutcomeRefused: "拒绝签字",
	syncproto.OutcomeAbsent: "法定代表人不在场，见证人签字", syncproto.OutcomeNotLocatable: "通过登记的住所无法联系",
}

func outcomeLabel(s string) string { return labelIn(outcomeLabels, s) }

var signerRoleLabels = map[string]string{
	syncproto.SignerRepresentative: "法定代表人", syncproto.SignerInspector: "执法人员", syncproto.SignerWitness: "见证人",
}

func signerRoleLabel(s string) string { return labelIn(signerRoleLabels, s) }

var flagLabels = map[string]string{
	syncproto.FlagDeviceTimeOutsideWindow: "设备时间在检查期间外",
	syncproto.FlagReceivedOutsideWindow:   "收到时间在检查期间外",
	syncproto.FlagSectionNotSealed:        "部分未封存",
	syncproto.FlagSectionNotCovered:       "部分未经结论确认",
	syncproto.FlagNoClose:                 "无检查结论",
	syncproto.FlagSeveralCloses:           "多份检查结论",
	syncproto.FlagCloseCoversUnknown:      "结论覆盖的版本未收到",
	syncproto.FlagBasedOnOlderVersion:     "依据的版本已被更正",
}

func flagLabel(code string) string { return labelIn(flagLabels, code) }

var followUpStateLabels = map[string]string{
	server.FollowUpStateOpen: "待处理", server.FollowUpStateInProgress: "处理中",
	server.FollowUpStateClosureRequested: "待确认办结", server.FollowUpStateClosed: "已办结",
}

func followUpStateLabel(s string) string { return labelIn(followUpStateLabels, s) }

var followUpActionLabels = map[string]string{
	string(server.FollowUpActionAssign): "指派", string(server.FollowUpActionStart): "开始处理",
	string(server.FollowUpActionNote): "记录处理情况", string(server.FollowUpActionRequestClosure): "申请办结",
	string(server.FollowUpActionRefuse): "退回办结申请", string(server.FollowUpActionClose): "办结",
}

func followUpActionLabel(a server.FollowUpAction) string {
	return labelIn(followUpActionLabels, string(a))
}

// followUpSummaryLabel is a result's follow_up: none, open or closed.
func followUpSummaryLabel(s string) string {
	switch s {
	case syncproto.FollowUpNone, "":
		return "无"
	case syncproto.FollowUpOpen:
		return "处理中"
	case syncproto.FollowUpClosed:
		return "已办结"
	}
	return "未知"
}

func overdueLabel(kind string) string {
	switch kind {
	case "entry":
		return "录入逾期"
	case "publication":
		return "公示逾期"
	}
	return ""
}
