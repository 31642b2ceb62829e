package api

import (
	"net/http"
	"strconv"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api/apidoc"
	"github.com/spotcheck/spotcheck/server/draw"
	"github.com/spotcheck/spotcheck/server/report"
	"github.com/spotcheck/spotcheck/syncproto"
)

// The API reference: one entry per route of the router, in the order of
// routes(). openapi_test.go fails for a route without an entry and for an
// entry without a route, and decodes every example with the handler's own
// decoder. To document a new route, add one block here:
//
//	{Method: "GET", Path: "/v1/campaigns/:id/things", Tag: tagCampaigns,
//		Summary: "…", Description: "…",
//		Request: apidoc.JSON[ThingRequest](`{"…": …}`),          // if it reads a body
//		Status: http.StatusCreated,                                // if not 200
//		Response: apidoc.JSON[List[Thing]](``),                    // the type the handler encodes
//		Errors: []int{http.StatusConflict}},                       // errors particular to it

// Tags, in the order the page shows them.
const (
	tagHealth       = "运行状态"
	tagAuth         = "登录与会话"
	tagDepartments  = "部门"
	tagEnterprises  = "企业（市场主体）"
	tagInspectors   = "执法人员"
	tagDeclarations = "回避申报"
	tagUsers        = "账号"
	tagDevices      = "现场设备"
	tagImports      = "批量导入"
	tagCheckItems   = "检查事项"
	tagCampaigns    = "抽查活动与抽取"
	tagFieldwork    = "确认、分组与检查包"
	tagResults      = "结果录入与审核"
	tagPublication  = "结果公示"
	tagFollowUps    = "后续处置"
	tagSync         = "现场同步"
	tagAudit        = "审计链"
	tagPublic       = "公开信息"
	tagDocs         = "接口文档"
)

var apiTags = []apidoc.Tag{
	{Name: tagHealth, Description: "健康检查、就绪检查与 Prometheus 指标。"},
	{Name: tagAuth, Description: "登录、续期、退出、当前用户与修改密码。访问令牌10分钟有效；刷新令牌每次使用后轮换。"},
	{Name: tagDepartments, Description: "参与抽查的部门。"},
	{Name: tagEnterprises, Description: "检查对象名录（市场主体）及其检查记录。"},
	{Name: tagInspectors, Description: "执法检查人员名录。"},
	{Name: tagDeclarations, Description: "执法人员与企业之间的利害关系申报（回避）。"},
	{Name: tagUsers, Description: "系统账号。"},
	{Name: tagDevices, Description: "执法人员的现场设备：登记、吊销、导入离线导出包。"},
	{Name: tagImports, Description: "以 CSV 或 XLSX 文件批量导入企业和执法人员。"},
	{Name: tagCheckItems, Description: "各部门的检查事项目录（有版本）。"},
	{Name: tagCampaigns, Description: "抽查工作方案：起草、锁定抽取清单、录入公开随机数并抽取检查对象。"},
	{Name: tagFieldwork, Description: "各部门确认抽取结果、替换、抽取执法人员并分组、下发检查包、打印告知书与分组报备表。"},
	{Name: tagResults, Description: "检查结果目录、结果录入（谁抽查、谁录入）与审核、时限。"},
	{Name: tagPublication, Description: "公示已审核的检查结果并导出给国家企业信用信息公示系统。"},
	{Name: tagFollowUps, Description: "发现问题后的后续处置任务与经营异常名录候选。"},
	{Name: tagSync, Description: "现场设备的同步：推送、拉取、附件续传与读取。须带 Spotcheck-Protocol 请求头。"},
	{Name: tagAudit, Description: "审计事件哈希链。"},
	{Name: tagPublic, Description: "任何人可读的抽取记录与公示结果，不含个人信息。"},
	{Name: tagDocs, Description: "本接口文档。"},
}

// schemeMetrics is the metrics token's security scheme.
const schemeMetrics = "metricsToken"

var apiSchemes = []apidoc.Scheme{{Name: schemeMetrics,
	Description: "指标令牌（--metrics-token-file 或 SPOTCHECK_METRICS_TOKEN）：只用于 API 监听地址上的 GET /metrics，与账号无关。"}}

// Parameters used by several operations.
var (
	qOffset = apidoc.Param{Name: "offset", Type: "integer", Description: "跳过的条数（分页），默认0"}
	qLimit  = apidoc.Param{Name: "limit", Type: "integer", Description: "最多返回条数，1–1000"}

	pPacketID = apidoc.Param{Name: "id", Description: "检查包编号（32位小写十六进制）", Example: "0123456789abcdef0123456789abcdef"}

	hProtocol = apidoc.Param{Name: syncproto.HeaderProtocol, Type: "integer", Required: true,
		Description: "客户端所用的同步协议版本；过旧为426 upgrade_required，比服务器新为400", Example: strconv.Itoa(syncproto.ProtocolVersion)}

	formatTable = apidoc.File("表格文件", report.MediaTypeCSV, report.MediaTypeXLSX)
	pdfFile     = apidoc.File("PDF 文件", mimePDF)
)

func idFilter(name, what string) apidoc.Param {
	return apidoc.Param{Name: name, Type: "integer", Description: "只列出该" + what + "的（正整数）"}
}

// Examples reused below.
const (
	exCreditCode = "91350203000000019Y"
	exPacketID   = "0123456789abcdef0123456789abcdef"
	exSHA256     = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
)

// apiOperations lists every operation of the API.
func apiOperations() []apidoc.Operation {
	return []apidoc.Operation{
		// routes.go
		{Method: "GET", Path: "/healthz", Tag: tagHealth, Public: true, Summary: "健康检查",
			Description: "进程在运行即答200。",
			Response:    apidoc.JSON[Health](`{"status": "ok"}`)},
		{Method: "GET", Path: "/readyz", Tag: tagHealth, Public: true, Summary: "就绪检查",
			Description: "数据库可用时答200，否则503 {\"status\": \"database unavailable\"}。",
			Response:    apidoc.JSON[Health](`{"status": "ready"}`)},
		{Method: "GET", Path: "/metrics", Tag: tagHealth, Scheme: schemeMetrics, Summary: "Prometheus 指标",
			Description: "须带指标令牌（Authorization: Bearer 指标令牌，不是访问令牌）；未配置指标令牌时本监听地址不提供（404），指标另在 --metrics-addr 上提供。",
			Response:    apidoc.File("Prometheus 文本格式", "text/plain; version=0.0.4; charset=utf-8"),
			Errors:      []int{http.StatusUnauthorized, http.StatusNotFound}},
		{Method: "POST", Path: syncproto.PathLogin, Tag: tagAuth, Public: true, Summary: "登录",
			Description: "用户名和密码登录，得到访问令牌与刷新令牌。带 device_id 时刷新令牌绑定该设备。尝试过多时429并带 Retry-After；密码计算繁忙时503。",
			Request:     apidoc.JSON[syncproto.LoginRequest](`{"username": "zhang.san", "password": "correct horse battery staple", "device_id": 7}`),
			Response: apidoc.JSON[syncproto.Session](`{"access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6IjEiLCJ0eXAiOiJhdCtqd3QifQ.e30.c2ln", "token_type": "Bearer",
				"access_expires_at": "2026-12-06T10:10:00+08:00", "refresh_token": "rt_3q2+7w==", "refresh_expires_at": "2027-01-05T10:00:00+08:00",
				"user": {"id": 12, "username": "zhang.san", "display_name": "张三", "role": "inspector", "department_id": 1, "inspector_id": 3}, "device_id": 7}`),
			Errors: []int{http.StatusTooManyRequests}},
		{Method: "POST", Path: syncproto.PathRefresh, Tag: tagAuth, Public: true, Summary: "用刷新令牌续期",
			Description: "刷新令牌每次使用后轮换。绑定设备的令牌须带 device_id 和设备私钥对令牌的 Ed25519 签名 device_proof（base64）。重复使用已用过的令牌会吊销整个令牌族（401 token_reused），但60秒内其后继尚未使用时返回同一后继。",
			Request:     apidoc.JSON[syncproto.RefreshRequest](`{"refresh_token": "rt_3q2+7w==", "device_id": 7, "device_proof": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="}`),
			Response:    apidoc.JSON[syncproto.Session](``),
			Errors:      []int{http.StatusUnauthorized, http.StatusForbidden}},
		{Method: "POST", Path: syncproto.PathLogout, Tag: tagAuth, Public: true, Summary: "退出",
			Description: "吊销该刷新令牌所在的会话；其访问令牌从下一个请求起失效。",
			Request:     apidoc.JSON[syncproto.LogoutRequest](`{"refresh_token": "rt_3q2+7w=="}`),
			Status:      http.StatusNoContent},
		{Method: "GET", Path: "/v1/me", Tag: tagAuth, Summary: "当前用户",
			Response: apidoc.JSON[syncproto.Me](`{"id": 12, "username": "zhang.san", "display_name": "张三", "role": "inspector", "department_id": 1, "inspector_id": 3}`)},
		{Method: "POST", Path: "/v1/me/password", Tag: tagAuth, Summary: "修改自己的密码",
			Description: "成功后该用户的其他会话全部结束。一次性密码登录后只能访问 /v1/me 和本接口。",
			Request:     apidoc.JSON[syncproto.ChangePasswordRequest](`{"current_password": "old secret words", "new_password": "a longer new pass phrase"}`),
			Status:      http.StatusNoContent},

		// department.go
		{Method: "GET", Path: "/v1/departments", Tag: tagDepartments, Summary: "部门列表",
			Response: apidoc.JSON[List[Department]](`{"items": [{"id": 1, "code": "culture", "name": "市文化和旅游局", "created_at": "2026-11-01T09:00:00+08:00", "updated_at": "2026-11-01T09:00:00+08:00"}], "total": 1}`)},
		{Method: "POST", Path: "/v1/departments", Tag: tagDepartments, Summary: "新建部门", Description: "平台管理员。",
			Request: apidoc.JSON[CreateDepartmentRequest](`{"code": "market", "name": "市市场监督管理局"}`),
			Status:  http.StatusCreated, Response: apidoc.JSON[Department](``), Errors: []int{http.StatusConflict}},
		{Method: "GET", Path: "/v1/departments/:id", Tag: tagDepartments, Summary: "查看部门",
			Response: apidoc.JSON[Department](``)},
		{Method: "PATCH", Path: "/v1/departments/:id", Tag: tagDepartments, Summary: "修改部门名称", Description: "平台管理员；省略的字段不变。",
			Request: apidoc.JSON[UpdateDepartmentRequest](`{"name": "市文化广电和旅游局"}`), Response: apidoc.JSON[Department](``)},

		// enterprise.go
		{Method: "GET", Path: "/v1/enterprises", Tag: tagEnterprises, Summary: "企业列表", Description: "工作人员（非执法人员）。",
			Query: []apidoc.Param{qOffset, qLimit,
				{Name: "credit_code", Description: "统一社会信用代码"}, {Name: "category", Description: "类别"},
				{Name: "district", Description: "区县"}, {Name: "q", Description: "名称包含"},
				{Name: "status", Description: "经营状态", Enum: strs(server.EnterpriseActive, server.EnterpriseSuspended, server.EnterpriseDeregistered, server.EnterpriseRevoked)}},
			Response: apidoc.JSON[List[Enterprise]](``)},
		{Method: "POST", Path: "/v1/enterprises", Tag: tagEnterprises, Summary: "新建企业", Description: "平台管理员。统一社会信用代码须通过校验位检查。",
			Request: apidoc.JSON[CreateEnterpriseRequest](`{"credit_code": "` + exCreditCode + `", "name": "星际网吧", "category": "internet_cafe", "district": "思明区",
				"address": "思明区湖滨南路1号", "legal_representative": "李四", "licence_number": "350203100001", "status": "active", "risk_class": "B",
				"latitude": 24.4798, "longitude": 118.0894}`),
			Status: http.StatusCreated, Response: apidoc.JSON[Enterprise](``), Errors: []int{http.StatusConflict}},
		{Method: "GET", Path: "/v1/enterprises/:id", Tag: tagEnterprises, Summary: "查看企业", Response: apidoc.JSON[Enterprise](``)},
		{Method: "PATCH", Path: "/v1/enterprises/:id", Tag: tagEnterprises, Summary: "修改企业", Description: "平台管理员；省略的字段不变。",
			Request: apidoc.JSON[UpdateEnterpriseRequest](`{"address": "思明区湖滨南路88号", "risk_class": "C"}`), Response: apidoc.JSON[Enterprise](``)},

		// inspector.go
		{Method: "GET", Path: "/v1/inspectors", Tag: tagInspectors, Summary: "执法人员列表",
			Description: "管理员和牵头协调人看本部门的，执法人员看自己；无权查看电话的调用者得到的记录没有 phone。",
			Query: []apidoc.Param{qOffset, qLimit, idFilter("department_id", "部门"),
				{Name: "certificate_number", Description: "执法证号"},
				{Name: "status", Description: "状态", Enum: strs(server.InspectorActive, server.InspectorOnLeave, server.InspectorLeft)}},
			Response: apidoc.JSON[List[Inspector]](``)},
		{Method: "POST", Path: "/v1/inspectors", Tag: tagInspectors, Summary: "新建执法人员", Description: "本部门管理员。",
			Request: apidoc.JSON[CreateInspectorRequest](`{"department_id": 1, "name": "王五", "certificate_number": "35020012345", "certificate_valid_from": "2024-01-01",
				"certificate_valid_until": "2029-01-01", "domains": ["culture"], "phone": "13800000000", "status": "active"}`),
			Status: http.StatusCreated, Response: apidoc.JSON[Inspector](``), Errors: []int{http.StatusConflict}},
		{Method: "GET", Path: "/v1/inspectors/:id", Tag: tagInspectors, Summary: "查看执法人员", Response: apidoc.JSON[Inspector](``)},
		{Method: "PATCH", Path: "/v1/inspectors/:id", Tag: tagInspectors, Summary: "修改执法人员", Description: "本部门管理员；省略的字段不变。",
			Request: apidoc.JSON[UpdateInspectorRequest](`{"phone": "13900000000", "certificate_valid_until": "2030-01-01"}`), Response: apidoc.JSON[Inspector](``)},

		// declaration.go
		{Method: "GET", Path: "/v1/declarations", Tag: tagDeclarations, Summary: "回避申报列表",
			Description: "管理员看本部门的，执法人员看自己的，协调人可读。",
			Query: []apidoc.Param{qOffset, qLimit, idFilter("inspector_id", "执法人员"), idFilter("enterprise_id", "企业"), idFilter("department_id", "部门"),
				{Name: "status", Description: "状态", Enum: strs(server.DeclarationPending, server.DeclarationApproved, server.DeclarationRejected)},
				{Name: "include_withdrawn", Type: "boolean", Description: "是否包括已撤回的"}},
			Response: apidoc.JSON[List[Declaration]](``)},
		{Method: "POST", Path: "/v1/declarations", Tag: tagDeclarations, Summary: "申报回避",
			Description: "管理员为本部门人员申报（立即生效），或执法人员为自己申报（待本部门管理员批准后才在抽取中生效）。企业以 enterprise_id 或 credit_code 指明。",
			Request:     apidoc.JSON[CreateDeclarationRequest](`{"inspector_id": 3, "credit_code": "` + exCreditCode + `", "reason": "配偶为该企业股东"}`),
			Status:      http.StatusCreated, Response: apidoc.JSON[Declaration](``), Errors: []int{http.StatusConflict}},
		{Method: "GET", Path: "/v1/declarations/:id", Tag: tagDeclarations, Summary: "查看回避申报", Response: apidoc.JSON[Declaration](``)},
		{Method: "POST", Path: "/v1/declarations/:id/withdraw", Tag: tagDeclarations, Summary: "撤回回避申报", Description: "须说明理由；执法人员只能撤回自己申报的。",
			Request: apidoc.JSON[DeclarationReasonRequest](`{"reason": "股权已于上月转让"}`), Response: apidoc.JSON[Declaration](``), Errors: []int{http.StatusConflict}},
		{Method: "POST", Path: "/v1/declarations/:id/approve", Tag: tagDeclarations, Summary: "批准回避申报", Description: "执法人员所在部门的管理员；reason 为可选备注。",
			Request: apidoc.JSON[DeclarationReasonRequest](`{"reason": "已核实"}`), Response: apidoc.JSON[Declaration](``), Errors: []int{http.StatusConflict}},
		{Method: "POST", Path: "/v1/declarations/:id/reject", Tag: tagDeclarations, Summary: "驳回回避申报", Description: "执法人员所在部门的管理员；须说明理由。",
			Request: apidoc.JSON[DeclarationReasonRequest](`{"reason": "未提供关系证明"}`), Response: apidoc.JSON[Declaration](``), Errors: []int{http.StatusConflict}},

		// user.go
		{Method: "GET", Path: "/v1/users", Tag: tagUsers, Summary: "账号列表", Description: "管理员看本部门的。",
			Query: []apidoc.Param{qOffset, qLimit, idFilter("department_id", "部门"),
				{Name: "role", Description: "角色", Enum: roleNames()}},
			Response: apidoc.JSON[List[User]](``)},
		{Method: "POST", Path: "/v1/users", Tag: tagUsers, Summary: "新建账号", Description: "管理员为本部门新建；执法人员账号须指明 inspector_id。",
			Request: apidoc.JSON[CreateUserRequest](`{"username": "wang.wu", "display_name": "王五", "password": "a long first pass phrase", "role": "inspector", "department_id": 1, "inspector_id": 3}`),
			Status:  http.StatusCreated, Response: apidoc.JSON[User](``), Errors: []int{http.StatusConflict}},
		{Method: "GET", Path: "/v1/users/:id", Tag: tagUsers, Summary: "查看账号", Description: "任何人可看自己；管理员看本部门的。", Response: apidoc.JSON[User](``)},
		{Method: "POST", Path: "/v1/users/:id/disable", Tag: tagUsers, Summary: "停用账号",
			Description: "不再能登录，刷新令牌吊销，访问令牌从下一个请求起被拒。无请求体。", Response: apidoc.JSON[User](``)},
		{Method: "POST", Path: "/v1/users/:id/password-reset", Tag: tagUsers, Summary: "重置密码",
			Description: "生成一次性密码，仅在本响应中出现一次，下次登录须修改；该用户的会话立即结束。无请求体。",
			Response:    apidoc.JSON[PasswordReset](``)},

		// device.go
		{Method: "GET", Path: "/v1/devices", Tag: tagDevices, Summary: "设备列表", Description: "执法人员看自己的，管理员看本部门的。",
			Query:    []apidoc.Param{qOffset, qLimit, idFilter("user_id", "用户"), idFilter("department_id", "部门")},
			Response: apidoc.JSON[List[syncproto.Device]](``)},
		{Method: "POST", Path: "/v1/devices", Tag: tagDevices, Summary: "登记设备",
			Description: "执法人员登记自己的设备：设备的 Ed25519 公钥（32字节，base64）；小阶点和非规范编码会被拒绝。",
			Request:     apidoc.JSON[syncproto.RegisterDeviceRequest](`{"name": "张三的平板", "public_key": "Mfbw7F1WURyc+Qu23zO4SjwvxZ/atCYROg3a4nY6iDQ="}`),
			Status:      http.StatusCreated, Response: apidoc.JSON[syncproto.Device](``), Errors: []int{http.StatusConflict}},
		{Method: "GET", Path: "/v1/devices/:id", Tag: tagDevices, Summary: "查看设备", Response: apidoc.JSON[syncproto.Device](``)},
		{Method: "POST", Path: "/v1/devices/:id/revoke", Tag: tagDevices, Summary: "吊销设备",
			Description: "本部门管理员。设备的推送立即停止；设备上未同步的数据仍保留，可导出后导入。",
			Request:     apidoc.JSON[RevokeDeviceRequest](`{"reason": "设备遗失"}`), Response: apidoc.JSON[syncproto.Device](``), Errors: []int{http.StatusConflict}},
		{Method: "POST", Path: "/v1/devices/:id/import", Tag: tagDevices, Summary: "导入设备的离线导出包",
			Description: "可吊销该设备的人导入其导出包（spotcheck-field export 生成，最大256 MiB）：附件与待推送记录作为该设备的推送恰好应用一次，吊销后也可。",
			Request:     apidoc.File("设备导出包（gzip）", "application/gzip"),
			Response:    apidoc.JSON[syncproto.DeviceImportResponse](``),
			Errors:      []int{http.StatusUnprocessableEntity, http.StatusInsufficientStorage}},

		// import.go
		{Method: "POST", Path: "/v1/imports/enterprises", Tag: tagImports, Summary: "批量导入企业",
			Description: "平台管理员。请求体为 CSV 或 XLSX 文件本身（最大256 MiB）；CSV 的编码取 ?encoding=、Content-Type 的 charset 或自动识别。",
			Query:       []apidoc.Param{{Name: "encoding", Description: "CSV 文件的编码，如 utf-8、gb18030"}},
			Request:     formatTable, Response: apidoc.JSON[server.ImportReport](``)},
		{Method: "POST", Path: "/v1/imports/inspectors", Tag: tagImports, Summary: "批量导入执法人员",
			Description: "管理员导入本部门的执法人员；格式同企业导入。",
			Query:       []apidoc.Param{{Name: "encoding", Description: "CSV 文件的编码，如 utf-8、gb18030"}},
			Request:     formatTable, Response: apidoc.JSON[server.ImportReport](``)},

		// campaign.go
		{Method: "GET", Path: "/v1/check-items", Tag: tagCheckItems, Summary: "检查事项列表",
			Query: []apidoc.Param{idFilter("department_id", "部门"), {Name: "include_retired", Type: "boolean", Description: "是否包括已停用的版本"}},
			Response: apidoc.JSON[List[CheckItem]](`{"items": [{"id": 5, "department_id": 1, "code": "C01", "version": 1, "title": "是否悬挂网络文化经营许可证", "legal_basis": "《互联网上网服务营业场所管理条例》第二十三条",
				"answer_type": "compliance", "created_at": "2026-11-01T09:00:00+08:00", "retired_at": null}], "total": 1}`)},
		{Method: "POST", Path: "/v1/check-items", Tag: tagCheckItems, Summary: "新增检查事项（或其新版本）", Description: "管理员维护本部门的目录；同一编码再次提交即新版本。",
			Request: apidoc.JSON[CreateCheckItemRequest](`{"department_id": 1, "code": "C01", "title": "是否悬挂网络文化经营许可证", "legal_basis": "《互联网上网服务营业场所管理条例》第二十三条", "answer_type": "compliance"}`),
			Status:  http.StatusCreated, Response: apidoc.JSON[CheckItem](``)},
		{Method: "POST", Path: "/v1/check-items/:id/retire", Tag: tagCheckItems, Summary: "停用检查事项版本", Response: apidoc.JSON[CheckItem](``), Errors: []int{http.StatusConflict}},
		{Method: "GET", Path: "/v1/campaigns", Tag: tagCampaigns, Summary: "抽查活动列表", Description: "参与部门的工作人员。",
			Query:    []apidoc.Param{qOffset, qLimit, {Name: "status", Description: "状态", Enum: strs(server.CampaignDraft, server.CampaignCommitted, server.CampaignDrawn, server.CampaignTeamed, server.CampaignIssued)}},
			Response: apidoc.JSON[List[Campaign]](``)},
		{Method: "POST", Path: "/v1/campaigns", Tag: tagCampaigns, Summary: "起草抽查活动（工作方案）",
			Description: "牵头部门协调人（或平台管理员）。ratio 为抽取比例表（十进制字符串，按信用风险分类，default 为其余）；randomness_sources 为将来才公开的随机数来源，sources_available_at 为其最早可知时间。",
			Request: apidoc.JSON[CreateCampaignRequest](`{"name": "2026年网吧双随机联合抽查", "lead_department_id": 1, "department_ids": [1, 2], "window_start": "2026-12-14", "window_end": "2026-12-19",
				"category": "internet_cafe", "districts": ["思明区", "湖里区"], "ratio": {"default": "0.15"}, "exclusion_months": 12, "inspectors_per_department": 2,
				"targets_per_team": 3, "check_item_ids": [5, 6], "randomness_sources": ["中国福利彩票双色球2026141期开奖号码"], "sources_available_at": "2026-12-08T21:30:00+08:00"}`),
			Status: http.StatusCreated, Response: apidoc.JSON[Campaign](``)},
		{Method: "GET", Path: "/v1/campaigns/:id", Tag: tagCampaigns, Summary: "查看抽查活动", Response: apidoc.JSON[Campaign](``)},
		{Method: "PATCH", Path: "/v1/campaigns/:id", Tag: tagCampaigns, Summary: "修改草稿", Description: "仅草稿可改；省略的字段不变。",
			Request:  apidoc.JSON[UpdateCampaignRequest](`{"ratio": {"default": "0.15", "by_class": {"A": "0.05", "B": "0.1"}}, "targets_per_team": 4}`),
			Response: apidoc.JSON[Campaign](``), Errors: []int{http.StatusConflict}},
		{Method: "POST", Path: "/v1/campaigns/:id/commit", Tag: tagCampaigns, Summary: "锁定抽取清单",
			Description: "冻结对象快照、排除、分层、比例、算法和随机数来源，生成清单并公开其 SHA-256；之后不可更改。无请求体。",
			Response:    apidoc.JSON[Campaign](``), Errors: []int{http.StatusConflict}},
		{Method: "POST", Path: "/v1/campaigns/:id/draw", Tag: tagCampaigns, Summary: "录入公开随机数并抽取",
			Description: "按清单顺序录入各随机数来源公布的值；在 sources_available_at 之前为409 too_early。",
			Request:     apidoc.JSON[DrawRequest](`{"randomness": ["03 07 12 19 25 31 + 09"]}`),
			Response:    apidoc.JSON[Campaign](``), Errors: []int{http.StatusConflict}},
		{Method: "GET", Path: "/v1/campaigns/:id/selections", Tag: tagCampaigns, Summary: "抽中的检查对象",
			Response: apidoc.JSON[List[Selection]](``)},

		// campaign_fieldwork.go
		{Method: "POST", Path: "/v1/campaigns/:id/confirm", Tag: tagFieldwork, Summary: "确认抽取结果",
			Description: "各参与部门管理员在抽取后1个工作日内确认；平台管理员须以 department_id 指明部门。请求体可省略。",
			Request:     optional(apidoc.JSON[DepartmentChoice](`{"department_id": 2}`)),
			Response:    apidoc.JSON[Confirmation](``), Errors: []int{http.StatusConflict}},
		{Method: "GET", Path: "/v1/campaigns/:id/confirmations", Tag: tagFieldwork, Summary: "各部门确认情况",
			Description: "reopenings 列出因替换而重新打开的确认（谁、何时、为何）。",
			Response:    apidoc.JSON[ConfirmationList](``)},
		{Method: "POST", Path: "/v1/campaigns/:id/replacements", Tag: tagFieldwork, Summary: "替换无法检查的对象",
			Description: "以同一分层的下一张票替换（注销、重复等），须说明理由；分组后为409。替换会重新打开已确认部门的确认。",
			Request:     apidoc.JSON[ReplaceTargetRequest](`{"credit_code": "` + exCreditCode + `", "reason": "该企业已于2026年11月注销"}`),
			Status:      http.StatusCreated, Response: apidoc.JSON[Replacement](``), Errors: []int{http.StatusConflict}},
		{Method: "GET", Path: "/v1/campaigns/:id/replacements", Tag: tagFieldwork, Summary: "替换记录", Response: apidoc.JSON[List[Replacement]](``)},
		{Method: "POST", Path: "/v1/campaigns/:id/teams", Tag: tagFieldwork, Summary: "抽取执法人员并分组",
			Description: "牵头协调人，在各部门都确认后。无请求体。",
			Status:      http.StatusCreated, Response: apidoc.JSON[List[Team]](``), Errors: []int{http.StatusConflict}},
		{Method: "GET", Path: "/v1/campaigns/:id/teams", Tag: tagFieldwork, Summary: "检查组",
			Description: "电话只向该部门管理员和牵头方显示。", Response: apidoc.JSON[List[Team]](``)},
		{Method: "POST", Path: "/v1/campaigns/:id/packets", Tag: tagFieldwork, Summary: "下发检查包",
			Description: "一企一表：每个对象一个检查包，下发到检查组的设备。无请求体。",
			Response:    apidoc.JSON[List[Packet]](``), Errors: []int{http.StatusConflict}},
		{Method: "GET", Path: "/v1/campaigns/:id/packets", Tag: tagFieldwork, Summary: "检查包列表", Response: apidoc.JSON[List[Packet]](``)},
		{Method: "GET", Path: "/v1/packets/:id", Tag: tagFieldwork, Summary: "查看检查包", PathParams: []apidoc.Param{pPacketID},
			Description: "参与部门的工作人员和该组执法人员。", Response: apidoc.JSON[Packet](``)},
		{Method: "GET", Path: "/v1/packets/:id/record", Tag: tagFieldwork, Summary: "联合检查记录", PathParams: []apidoc.Param{pPacketID},
			Description: "各部门已封存的部分（当前版本与历史）、结束记录、每个附件一次，以及提示审核人的标记。",
			Response:    apidoc.JSON[syncproto.JointRecord](``)},
		{Method: "GET", Path: "/v1/packets/:id/record.pdf", Tag: tagFieldwork, Summary: "打印联合检查记录（一企一表）", PathParams: []apidoc.Param{pPacketID},
			Response: pdfFile},
		{Method: "GET", Path: "/v1/campaigns/:id/grouping-report", Tag: tagFieldwork, Summary: "分组报备表",
			Description: "部门管理员（本部门部分）或牵头协调人（全部）。",
			Query: []apidoc.Param{{Name: "format", Description: "文件格式，默认 csv", Enum: []string{"csv", "xlsx", "pdf"}},
				idFilter("department_id", "部门")},
			Response: apidoc.File("报备表文件", report.MediaTypeCSV, report.MediaTypeXLSX, mimePDF)},
		{Method: "GET", Path: "/v1/campaigns/:id/letters.pdf", Tag: tagFieldwork, Summary: "打印告知书",
			Description: "所有对象的告知书合为一个 PDF（每份各自编页），或只打印一个对象的；检查包下发前为409。",
			Query:       []apidoc.Param{{Name: "target", Description: "只打印该统一社会信用代码的告知书", Example: exCreditCode}},
			Response:    pdfFile, Errors: []int{http.StatusConflict}},
		{Method: "POST", Path: "/v1/campaigns/:id/letters/proofs", Tag: tagFieldwork, Summary: "上传送达回证",
			Description: "牵头协调人（或平台管理员）：一份 PDF、JPEG 或 PNG，最大10 MiB；内容与所声称的类型不符时422 attachment_refused。之后在送达记录中以 proof_sha256 引用。",
			Request:     apidoc.File("送达回证", mimePDF, "image/jpeg", "image/png"),
			Status:      http.StatusCreated, Response: apidoc.JSON[LetterProof](`{"content_type": "application/pdf", "sha256": "` + exSHA256 + `", "size": 120431}`),
			Errors: []int{http.StatusConflict, http.StatusUnprocessableEntity, http.StatusInsufficientStorage}},
		{Method: "GET", Path: "/v1/campaigns/:id/letters/proofs", Tag: tagFieldwork, Summary: "读取送达回证",
			Query:    []apidoc.Param{{Name: "sha256", Required: true, Description: "回证的 SHA-256（64位小写十六进制）", Example: exSHA256}},
			Response: apidoc.File("送达回证", mimePDF, "image/jpeg", "image/png")},
		{Method: "POST", Path: "/v1/campaigns/:id/letters/deliveries", Tag: tagFieldwork, Summary: "记录告知书送达",
			Description: "牵头协调人（或平台管理员）：送达日期（告知书下发之日至今日，北京时间）、方式 in_person（直接送达）、post（邮寄送达）或 electronic（电子送达），可附回证。重发当前记录答200；已送达的对象另行记录须写 correction_reason（更正，旧记录保留），否则409。",
			Request:     apidoc.JSON[RecordDeliveryRequest](`{"credit_code": "` + exCreditCode + `", "delivered_on": "2026-11-03", "method": "in_person", "proof_sha256": "", "note": "法定代表人签收。", "correction_reason": ""}`),
			Status:      http.StatusCreated, Response: apidoc.JSON[LetterDelivery](``),
			Errors: []int{http.StatusConflict}},
		{Method: "GET", Path: "/v1/campaigns/:id/letters/deliveries", Tag: tagFieldwork, Summary: "告知书送达记录",
			Description: "参与部门的工作人员：每个对象的当前记录及更正历史（current 标明当前记录）。",
			Query:       []apidoc.Param{{Name: "credit_code", Description: "只列出该统一社会信用代码的记录", Example: exCreditCode}},
			Response:    apidoc.JSON[List[LetterDelivery]](``)},
		{Method: "GET", Path: "/v1/campaigns/:id/letters/unserved", Tag: tagFieldwork, Summary: "尚未送达告知书的对象",
			Description: "参与部门的工作人员；检查包下发前为409。",
			Response:    apidoc.JSON[List[UnservedTarget]](``), Errors: []int{http.StatusConflict}},
		{Method: "POST", Path: "/v1/campaigns/:id/grouping-report/filing", Tag: tagFieldwork, Summary: "报备分组",
			Description: "部门管理员向牵头部门报备本部门的分组；平台管理员须以 department_id 指明部门。请求体可省略。",
			Request:     optional(apidoc.JSON[DepartmentChoice](`{"department_id": 2}`)),
			Status:      http.StatusCreated, Response: apidoc.JSON[GroupingFiling](``), Errors: []int{http.StatusConflict}},
		{Method: "GET", Path: "/v1/campaigns/:id/grouping-report/filings", Tag: tagFieldwork, Summary: "分组报备记录",
			Response: apidoc.JSON[List[GroupingFiling]](``)},
		{Method: "GET", Path: "/v1/campaigns/:id/recusal-openings", Tag: tagFieldwork, Summary: "回避承诺的揭示值",
			Description: "审计人（平台管理员和牵头协调人）：公开承诺背后的回避对与盐，供 spotcheck verify draw --recusals 核验。",
			Response:    apidoc.JSON[RecusalOpenings](``)},

		// result.go
		{Method: "GET", Path: "/v1/result-codes", Tag: tagResults, Summary: "检查结果目录",
			Response: apidoc.JSON[ResultCodeList](`{"codes": [{"code": "no_problem", "title": "未发现问题", "problems_found": false, "not_locatable": false,
				"position": 1, "created_at": "2026-11-01T09:00:00+08:00", "updated_at": "2026-11-01T09:00:00+08:00"}]}`)},
		{Method: "POST", Path: "/v1/result-codes", Tag: tagResults, Summary: "新增结果代码", Description: "平台管理员；代码只增不改不删。",
			Request: apidoc.JSON[ResultCodeCreate](`{"code": "problem_corrected", "title": "发现问题已责令改正", "problems_found": true, "not_locatable": false}`),
			Status:  http.StatusCreated, Response: apidoc.JSON[server.ResultCode](``), Errors: []int{http.StatusConflict}},
		{Method: "PATCH", Path: "/v1/result-codes/:id", Tag: tagResults, Summary: "修改结果代码的名称", Description: "平台管理员。",
			PathParams: []apidoc.Param{{Name: "id", Description: "结果代码", Example: "problem_corrected"}},
			Request:    apidoc.JSON[ResultCodeUpdate](`{"title": "发现问题已责令整改"}`), Response: apidoc.JSON[server.ResultCode](``)},
		{Method: "GET", Path: "/v1/results", Tag: tagResults, Summary: "检查结果列表",
			Description: "执法人员看本部门、本组检查包的，部门管理员看本部门的，牵头协调人看其牵头活动的和本部门的，平台管理员看全部。时间为 +08:00。",
			Query: []apidoc.Param{idFilter("campaign_id", "抽查活动"), {Name: "packet_id", Description: "检查包编号"},
				{Name: "state", Description: "状态", Enum: server.ResultStates}},
			Response: apidoc.JSON[syncproto.ResultList](``)},
		{Method: "GET", Path: "/v1/results/overdue", Tag: tagResults, Summary: "逾期的结果",
			Description: "entry_overdue：录入期限内未审核通过；publication_overdue：已通过但公示期限内未公示。",
			Query:       []apidoc.Param{idFilter("campaign_id", "抽查活动")},
			Response:    apidoc.JSON[server.OverdueResults](``)},
		{Method: "GET", Path: "/v1/results/:id", Tag: tagResults, Summary: "查看检查结果", Response: apidoc.JSON[syncproto.Result](``)},
		{Method: "POST", Path: "/v1/results/:id/enter", Tag: tagResults, Summary: "录入检查结果",
			Description: "本部门在组的执法人员为自己录入，或部门管理员代其录入（entered_for 为该执法人员编号）。",
			Request:     apidoc.JSON[ResultEnter](`{"code": "no_problem", "summary": "现场检查未发现问题。", "entered_for": 3}`),
			Response:    apidoc.JSON[syncproto.Result](``), Errors: []int{http.StatusConflict}},
		{Method: "POST", Path: "/v1/results/:id/return", Tag: tagResults, Summary: "退回检查结果",
			Description: "本部门管理员或在组的其他执法人员（不得是录入人或被代录人）；理由送达录入人的设备。",
			Request:     apidoc.JSON[ResultReturn](`{"reason": "结果代码与现场记录不符，请核对。"}`),
			Response:    apidoc.JSON[syncproto.Result](``), Errors: []int{http.StatusConflict}},
		{Method: "POST", Path: "/v1/results/:id/approve", Tag: tagResults, Summary: "审核通过检查结果",
			Description: "同退回的审核人。several_closes、no_close 及本部门的 section_not_covered / close_covers_unknown 标记须逐一说明理由；录入依据的版本已被更正替代时为409。",
			Request:     apidoc.JSON[ResultApprove](`{"resolutions": [{"code": "several_closes", "reason": "两台设备离线各记了一次结束，内容一致。"}]}`),
			Response:    apidoc.JSON[syncproto.Result](``), Errors: []int{http.StatusConflict}},
		{Method: "GET", Path: "/v1/enterprises/:id/inspections", Tag: tagEnterprises, Summary: "企业的检查记录",
			Description: "该企业在各活动、各部门已审核通过的结果，含后续处置状态和经营异常名录候选标记。",
			Response:    apidoc.JSON[EnterpriseInspections](``)},
		{Method: "GET", Path: "/v1/campaigns/:id/result-deadlines", Tag: tagResults, Summary: "结果时限",
			Description: "录入、公示、后续处置的工作日数，默认3、20、15。", Response: apidoc.JSON[server.ResultDeadlines](``)},
		{Method: "PATCH", Path: "/v1/campaigns/:id/result-deadlines", Tag: tagResults, Summary: "设置结果时限",
			Description: "牵头协调人（或平台管理员）；各1–60个工作日，省略的字段不变。",
			Request:     apidoc.JSON[ResultDeadlinesUpdate](`{"entry_working_days": 5, "publication_working_days": 20}`),
			Response:    apidoc.JSON[server.ResultDeadlines](``)},

		// publication.go
		{Method: "POST", Path: "/v1/results/:id/reopen", Tag: tagPublication, Summary: "重新打开已通过的结果",
			Description: "部门管理员：退回为 returned 以便更正；再次通过后作为更正公示。非 approved 状态为409。",
			Request:     apidoc.JSON[ResultReopen](`{"reason": "企业提出异议，经复核需更正结果代码。"}`),
			Response:    apidoc.JSON[syncproto.Result](``), Errors: []int{http.StatusConflict}},
		{Method: "POST", Path: "/v1/campaigns/:id/publication", Tag: tagPublication, Summary: "公示结果",
			Description: "牵头协调人：公示已通过未公示的结果，以及作为更正公示再次通过的结果；无可公示内容时409。无请求体。",
			Status:      http.StatusCreated, Response: apidoc.JSON[server.Publication](``), Errors: []int{http.StatusConflict}},
		{Method: "GET", Path: "/v1/campaigns/:id/publication-export", Tag: tagPublication, Summary: "导出公示数据",
			Description: "供国家企业信用信息公示系统：统一社会信用代码、企业名称、抽查类型、检查实施机关、检查完成日期、检查结果。",
			Query:       []apidoc.Param{{Name: "format", Description: "文件格式，默认 csv", Enum: []string{"csv", "xlsx"}}},
			Response:    formatTable},
		{Method: "GET", Path: "/public/campaigns/:id/results", Tag: tagPublic, Public: true, Summary: "抽查活动的公示结果",
			Description: "不含电话、身份证号、执法证号、签名、印章、照片、位置或执法人员姓名；无公示内容的活动为404。",
			Response:    apidoc.JSON[server.PublicCampaignResults](``)},
		{Method: "GET", Path: "/public/enterprises/:credit_code/results", Tag: tagPublic, Public: true, Summary: "企业的公示结果",
			PathParams: []apidoc.Param{{Name: "credit_code", Description: "统一社会信用代码", Example: exCreditCode}},
			Response:   apidoc.JSON[server.PublicEnterpriseResults](``)},

		// followup.go
		{Method: "GET", Path: "/v1/followups", Tag: tagFollowUps, Summary: "后续处置任务列表",
			Description: "部门管理员看本部门的，牵头协调人看本部门和其活动的，执法人员看指派给自己的，平台管理员看全部。",
			Query: []apidoc.Param{idFilter("campaign_id", "抽查活动"), {Name: "state", Description: "状态", Enum: server.FollowUpStates},
				{Name: "overdue", Type: "boolean", Description: "true：只列逾期的"}},
			Response: apidoc.JSON[FollowUpList](``)},
		{Method: "GET", Path: "/v1/followups/:id", Tag: tagFollowUps, Summary: "查看后续处置任务", Response: apidoc.JSON[server.FollowUp](``)},
		{Method: "POST", Path: "/v1/followups/:id/assign", Tag: tagFollowUps, Summary: "指派承办人",
			Description: "本部门管理员；承办人须是本部门在职的执法人员或管理员。",
			Request:     apidoc.JSON[FollowUpAssign](`{"assignee_id": 12}`), Response: apidoc.JSON[server.FollowUp](``), Errors: []int{http.StatusConflict}},
		{Method: "POST", Path: "/v1/followups/:id/start", Tag: tagFollowUps, Summary: "开始处置",
			Description: "承办人或本部门管理员；未指派时409。", Request: apidoc.JSON[FollowUpEntry](`{"text": "已联系企业负责人。", "evidence": []}`),
			Response: apidoc.JSON[server.FollowUp](``), Errors: []int{http.StatusConflict}},
		{Method: "POST", Path: "/v1/followups/:id/actions", Tag: tagFollowUps, Summary: "记录处置措施",
			Description: "承办人或本部门管理员；text 必填，evidence 为已上传到本任务的证据图片的 SHA-256。",
			Request:     apidoc.JSON[FollowUpEntry](`{"text": "已责令限期整改，现场复查已整改。", "evidence": ["` + exSHA256 + `"]}`),
			Response:    apidoc.JSON[server.FollowUp](``), Errors: []int{http.StatusConflict}},
		{Method: "POST", Path: "/v1/followups/:id/request-closure", Tag: tagFollowUps, Summary: "申请结案",
			Description: "承办人或本部门管理员；text 必填。", Request: apidoc.JSON[FollowUpEntry](`{"text": "整改完毕，申请结案。", "evidence": ["` + exSHA256 + `"]}`),
			Response: apidoc.JSON[server.FollowUp](``), Errors: []int{http.StatusConflict}},
		{Method: "POST", Path: "/v1/followups/:id/refuse", Tag: tagFollowUps, Summary: "不同意结案",
			Description: "本部门管理员，且不是承办人或申请结案人；text 必填。", Request: apidoc.JSON[FollowUpEntry](`{"text": "缺少复查照片。"}`),
			Response: apidoc.JSON[server.FollowUp](``), Errors: []int{http.StatusConflict}},
		{Method: "POST", Path: "/v1/followups/:id/close", Tag: tagFollowUps, Summary: "结案",
			Description: "本部门管理员，且不是承办人或申请结案人。", Request: apidoc.JSON[FollowUpEntry](`{"text": "同意结案。", "evidence": []}`),
			Response: apidoc.JSON[server.FollowUp](``), Errors: []int{http.StatusConflict}},
		{Method: "POST", Path: "/v1/followups/:id/evidence", Tag: tagFollowUps, Summary: "上传证据图片",
			Description: "可在本任务记录措施的人；一张 JPEG 或 PNG，最大32 MiB；内容不是所声称的图片时422。",
			Request:     apidoc.File("图片", "image/jpeg", "image/png"),
			Status:      http.StatusCreated, Response: apidoc.JSON[EvidenceUploaded](`{"content_type": "image/jpeg", "sha256": "` + exSHA256 + `", "size": 482113}`),
			Errors: []int{http.StatusUnprocessableEntity, http.StatusInsufficientStorage}},
		{Method: "GET", Path: "/v1/followups/:id/evidence", Tag: tagFollowUps, Summary: "读取证据图片",
			Query:    []apidoc.Param{{Name: "sha256", Required: true, Description: "证据的 SHA-256（64位小写十六进制）", Example: exSHA256}},
			Response: apidoc.File("图片", "image/jpeg", "image/png")},
		{Method: "GET", Path: "/v1/abnormal-operations/candidates", Tag: tagFollowUps, Summary: "经营异常名录候选",
			Description: "通过登记的住所无法联系的企业，附结果与原因（result_code 或 close_outcome）。",
			Response:    apidoc.JSON[AbnormalCandidates](``)},

		// sync.go, sync_upload.go
		{Method: "POST", Path: syncproto.PathPush, Tag: tagSync, Summary: "推送设备记录",
			Description: "执法人员带绑定设备的令牌推送待发记录（按 seq 连续）；每条记录逐一答复：applied、duplicate、rejected（带原因）或 deferred。请求体可 gzip 压缩，解压后最大8 MiB。",
			Headers:     []apidoc.Param{hProtocol},
			Request: apidoc.JSON[syncproto.PushRequest](`{"device_id": 7, "mutations": [{"seq": 41, "id": "m-5f1c2a", "kind": "answer", "packet_id": "` + exPacketID + `",
				"device_time": "2026-12-15T10:42:00+08:00", "answer": {"department": "culture", "item_code": "C01", "item_version": 1, "result": "compliant",
				"note": "许可证悬挂于前台", "base_version": 0, "section_version": 1}}]}`),
			Response: apidoc.JSON[syncproto.PushResponse](``),
			Errors:   []int{http.StatusUpgradeRequired, http.StatusConflict}},
		{Method: "POST", Path: syncproto.PathPull, Tag: tagSync, Summary: "拉取变更",
			Description: "返回游标之后给该设备的变更。wait_seconds（0–60，服务器最多等25秒）：没有变更时等待，有变更提交即答复（长轮询）。",
			Headers:     []apidoc.Param{hProtocol},
			Request:     apidoc.JSON[syncproto.PullRequest](`{"device_id": 7, "cursor": "1042", "limit": 500, "wait_seconds": 25}`),
			Response:    apidoc.JSON[syncproto.PullResponse](``),
			Errors:      []int{http.StatusUpgradeRequired}},
		{Method: "POST", Path: syncproto.PathAttachmentsMissing, Tag: tagSync, Summary: "查询服务器缺少的附件",
			Description: "一次列出多个附件的 SHA-256，答复其中须上传的；他人的文件与不存在的文件答复相同。",
			Headers:     []apidoc.Param{hProtocol},
			Request:     apidoc.JSON[syncproto.MissingRequest](`{"hashes": ["` + exSHA256 + `"]}`),
			Response:    apidoc.JSON[syncproto.MissingResponse](`{"missing": ["` + exSHA256 + `"]}`),
			Errors:      []int{http.StatusUpgradeRequired}},
		{Method: "POST", Path: syncproto.PathAttachmentsBatch, Tag: tagSync, Summary: "批量上传整份附件",
			Description: "multipart/mixed 请求体，最多256个分段、共16 MiB；每段是一份完整附件，恰有 Content-Type（image/jpeg 或 image/png）、Content-Length 和 Spotcheck-Sha256 三个头。" +
				"每个文件到达时即核对 SHA-256 和图片内容，全部到齐后一次落盘、一次记录；答复逐个给出 stored 或 refused（invalid：哈希不符；attachment_refused：内容不是所称图片）。" +
				"分段格式有误则整个请求作废（400），什么也不保存；请求体中途断开时，已完整到达的文件照样保存，设备再查询缺少的附件补传。受配额（429 quota_exceeded）和磁盘下限（507）限制。",
			Headers:  []apidoc.Param{hProtocol},
			Request:  apidoc.File("每段一份附件", syncproto.BatchMediaType),
			Response: apidoc.JSON[syncproto.BatchUploadResponse](`{"results": [{"sha256": "` + exSHA256 + `", "status": "stored"}]}`),
			Errors:   []int{http.StatusUpgradeRequired, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusTooManyRequests, http.StatusInsufficientStorage}},
		{Method: "POST", Path: syncproto.PathUploads, Tag: tagSync, Summary: "创建续传上传（tus 1.0）",
			Description: "Upload-Metadata 须含 sha256 和 content_type（image/jpeg 或 image/png）；Upload-Length 最大32 MiB。受未完成上传配额（429 quota_exceeded）和磁盘下限（507）限制。",
			Headers: []apidoc.Param{hProtocol, {Name: "Tus-Resumable", Required: true, Example: "1.0.0", Description: "tus 协议版本"},
				{Name: "Upload-Length", Type: "integer", Required: true, Description: "文件字节数"},
				{Name: "Upload-Metadata", Required: true, Description: "sha256 与 content_type，各为 键 base64值，以逗号分隔"}},
			Status:          http.StatusCreated,
			ResponseHeaders: []apidoc.Param{{Name: "Location", Description: "本次上传的地址"}},
			Errors:          []int{http.StatusUpgradeRequired, http.StatusTooManyRequests, http.StatusInsufficientStorage}},
		{Method: "HEAD", Path: syncproto.PathUploads + "/:id", Tag: tagSync, Summary: "查询上传进度",
			PathParams: []apidoc.Param{{Name: "id", Description: "上传编号（Location 的末段）"}},
			Headers:    []apidoc.Param{hProtocol, {Name: "Tus-Resumable", Required: true, Example: "1.0.0", Description: "tus 协议版本"}},
			ResponseHeaders: []apidoc.Param{{Name: "Upload-Offset", Type: "integer", Description: "服务器已有的字节数"},
				{Name: "Upload-Length", Type: "integer", Description: "文件字节数"}},
			Errors: []int{http.StatusUpgradeRequired}},
		{Method: "PATCH", Path: syncproto.PathUploads + "/:id", Tag: tagSync, Summary: "从断点续传",
			Description: "从服务器已有的字节处接着发送（其他偏移为409）。最后一个字节到达后核对整个文件的 SHA-256 和图片内容：不符则丢弃并答422。",
			PathParams:  []apidoc.Param{{Name: "id", Description: "上传编号（Location 的末段）"}},
			Headers: []apidoc.Param{hProtocol, {Name: "Tus-Resumable", Required: true, Example: "1.0.0", Description: "tus 协议版本"},
				{Name: "Upload-Offset", Type: "integer", Required: true, Description: "本段的起始字节"}},
			Request:         apidoc.File("文件的一段", "application/offset+octet-stream"),
			Status:          http.StatusNoContent,
			ResponseHeaders: []apidoc.Param{{Name: "Upload-Offset", Type: "integer", Description: "服务器现有的字节数"}},
			Errors:          []int{http.StatusUpgradeRequired, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusInsufficientStorage}},
		{Method: "GET", Path: syncproto.PathAttachments + "/:id", Tag: tagSync, Summary: "读取附件",
			Description: "仅向可读引用该附件的检查包的人提供；对其他人如同不存在。",
			PathParams:  []apidoc.Param{{Name: "id", Description: "附件的 SHA-256（64位小写十六进制）", Example: exSHA256}},
			Response:    apidoc.File("附件", "image/jpeg", "image/png")},

		// audit.go
		{Method: "GET", Path: "/v1/audit/head", Tag: tagAudit, Summary: "审计链的链头", Description: "平台管理员。",
			Response: apidoc.JSON[AuditHead](`{"seq": 1287, "hash": "` + exSHA256 + `"}`)},
		{Method: "GET", Path: "/v1/audit/verify", Tag: tagAudit, Summary: "核验整条审计链",
			Description: "平台管理员。无论是否完整都答200：ok 为 false 时 break 为第一处断裂；带 head 时还须包含该较早的链头。",
			Query:       []apidoc.Param{{Name: "head", Description: "较早记下的链头 SEQ:HASH", Example: "1200:" + exSHA256}},
			Response:    apidoc.JSON[AuditReport](`{"ok": true, "count": 1287, "head": {"seq": 1287, "hash": "` + exSHA256 + `"}}`)},

		// campaign.go: public
		{Method: "GET", Path: "/public/campaigns", Tag: tagPublic, Public: true, Summary: "已锁定的抽查活动",
			Response: apidoc.JSON[List[PublicCampaign]](``)},
		{Method: "GET", Path: "/public/campaigns/:id/manifest", Tag: tagPublic, Public: true, Summary: "抽取清单原文",
			Description: "其 SHA-256 即公开的清单摘要；按原字节提供，供阅读和计算哈希。草稿为404。",
			Response:    apidoc.File("规范化的清单文本", "text/plain; charset=utf-8")},
		{Method: "GET", Path: "/public/campaigns/:id/record", Tag: tagPublic, Public: true, Summary: "抽取记录",
			Description: "spotcheck verify draw 据以重算的记录：清单、随机数、种子与全部结果，并记有每次公示时审计链的链头。草稿为404。",
			Response:    apidoc.JSON[draw.Record](``)},

		// openapi.go
		{Method: "GET", Path: openAPIPath, Tag: tagDocs, Public: true, Summary: "OpenAPI 3.1 文档",
			Description: "本文档的机器可读形式；可缓存，带 ETag，If-None-Match 相同时答304。",
			Response:    apidoc.File("OpenAPI 3.1 文档", "application/json")},
		{Method: "GET", Path: apiDocsPath, Tag: tagDocs, Public: true, Summary: "接口文档页面",
			Description: "按分组列出每个接口的参数、请求体结构与示例；不含脚本。",
			Response:    apidoc.File("HTML 页面", "text/html; charset=utf-8")},
		{Method: "GET", Path: apiDocsPath + "/style.css", Tag: tagDocs, Public: true, Summary: "接口文档页面的样式表",
			Response: apidoc.File("CSS", "text/css; charset=utf-8")},
	}
}

// optional marks a request body that may be left out.
func optional(b *apidoc.Body) *apidoc.Body {
	b.Optional = true
	return b
}

// roleNames lists the roles' wire names.
func roleNames() []string {
	return strs(server.RolePlatformAdmin, server.RoleDepartmentAdmin, server.RoleLeadCoordinator, server.RoleInspector)
}

// strs lists string-typed constants as strings.
func strs[S ~string](vs ...S) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
