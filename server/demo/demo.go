// Package demo generates the demo dataset: a city's culture bureau and
// market-regulation bureau, about 1,000 internet cafés with valid credit codes
// across Tangshan's fourteen districts and counties, and 40 inspectors with
// 11-digit mobile numbers. The same seed always gives the same
// data, so a walk-through in the README stays true.
package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/spotcheck/spotcheck/server"
)

// Password is the password of every demo account. The demo is for trying the
// platform on one machine; never load it on a server that holds real data.
const Password = "spotcheck-demo"

// Department codes of the demo.
const (
	CultureCode = "culture"
	MarketCode  = "market"
)

// District is an administrative district with its GB/T 2260 code.
type District struct {
	Code, Name string
	Lat, Lng   float64 // approximate centre
}

// City is the demo city.
const City = "唐山市"

// Districts of the demo city: Tangshan's seven districts, three county-level
// cities and four counties.
var Districts = []District{
	{"130202", "路南区", 39.6150, 118.1540},
	{"130203", "路北区", 39.6250, 118.2010},
	{"130204", "古冶区", 39.7330, 118.4470},
	{"130205", "开平区", 39.6710, 118.2620},
	{"130207", "丰南区", 39.5760, 118.0850},
	{"130208", "丰润区", 39.8320, 118.1620},
	{"130209", "曹妃甸区", 39.2730, 118.4600},
	{"130224", "滦南县", 39.5040, 118.6820},
	{"130225", "乐亭县", 39.4260, 118.9120},
	{"130227", "迁西县", 40.1420, 118.3150},
	{"130229", "玉田县", 39.9010, 117.7380},
	{"130281", "遵化市", 40.1890, 117.9660},
	{"130283", "迁安市", 39.9990, 118.7010},
	{"130284", "滦州市", 39.7410, 118.7030},
}

// companyPlace is how a company registered in d begins its name: the city
// and the district for a district (唐山市路南…), the county or county-level
// city itself otherwise (遵化市…).
func companyPlace(d District) string {
	if name, ok := strings.CutSuffix(d.Name, "区"); ok {
		return City + name
	}
	return d.Name
}

// Account is a demo login.
type Account struct {
	Username       string
	DisplayName    string
	Role           server.Role
	DepartmentCode string
	// InspectorIndex is the index into Dataset.Inspectors for inspector accounts, else -1.
	InspectorIndex int
}

// Declaration is a demo conflict of interest, by index.
type Declaration struct {
	InspectorIndex, EnterpriseIndex int
	Reason                          string
}

// Dataset is the whole demo. Inspectors refer to departments by code through
// InspectorDepartments (same index), since ids exist only once stored.
type Dataset struct {
	Departments          []*server.Department
	Enterprises          []*server.Enterprise
	Inspectors           []*server.Inspector
	InspectorDepartments []string
	Accounts             []Account
	Declarations         []Declaration
}

// Generate returns the demo dataset with about n internet cafés.
func Generate(n int) *Dataset {
	r := rand.New(rand.NewPCG(2026, 11))
	d := &Dataset{
		Departments: []*server.Department{
			{Code: CultureCode, Name: "市文化和旅游局"},
			{Code: MarketCode, Name: "市市场监督管理局"},
		},
	}
	seen := map[string]bool{}
	for i := 0; len(d.Enterprises) < n; i++ {
		dist := Districts[i%len(Districts)]
		code := CreditCode("91"+dist.Code, r)
		if seen[code] {
			continue
		}
		seen[code] = true
		lat := dist.Lat + (r.Float64()-0.5)*0.06
		lng := dist.Lng + (r.Float64()-0.5)*0.06
		e := &server.Enterprise{
			CreditCode:          code,
			Name:                fmt.Sprintf("%s%s%s网络会所有限公司", companyPlace(dist), pick(r, nameWords1), pick(r, nameWords2)),
			Category:            server.CategoryInternetCafe,
			District:            dist.Name,
			Address:             fmt.Sprintf("河北省%s%s%s%d号%d层", City, dist.Name, pick(r, roads), 1+r.IntN(300), 1+r.IntN(4)),
			LegalRepresentative: personName(r),
			LicenceNumber:       fmt.Sprintf("冀网文〔%d〕%04d-%03d号", 2015+r.IntN(10), 1000+r.IntN(9000), r.IntN(1000)),
			Status:              server.EnterpriseActive,
			RiskClass:           riskClass(r),
			Latitude:            &lat,
			Longitude:           &lng,
		}
		switch x := r.IntN(100); {
		case x < 2:
			e.Status = server.EnterpriseDeregistered
		case x < 3:
			e.Status = server.EnterpriseSuspended
		}
		d.Enterprises = append(d.Enterprises, e)
	}

	d.Accounts = []Account{
		{"culture-admin", "文旅局系统管理员", server.RoleDepartmentAdmin, CultureCode, -1},
		{"market-admin", "市场监管局系统管理员", server.RoleDepartmentAdmin, MarketCode, -1},
		{"coordinator", "文旅局牵头协调人", server.RoleLeadCoordinator, CultureCode, -1},
	}
	for i := 0; i < 40; i++ {
		dept, prefix, domain := CultureCode, "冀文执", "文化市场"
		if i >= 20 {
			dept, prefix, domain = MarketCode, "冀市监执", "市场监管"
		}
		in := &server.Inspector{
			Name:                  personName(r),
			CertificateNumber:     fmt.Sprintf("%s%06d", prefix, 130200+i*37),
			CertificateValidFrom:  server.Date{Year: 2023, Month: 1, Day: 1},
			CertificateValidUntil: server.Date{Year: 2028, Month: 12, Day: 31},
			Domains:               []string{domain},
			Phone:                 MobileNumber(r),
			Status:                server.InspectorActive,
		}
		switch i % 20 {
		case 7: // one on leave in each department
			in.Status = server.InspectorOnLeave
		case 13: // one whose certificate lapsed
			in.CertificateValidUntil = server.Date{Year: 2025, Month: 6, Day: 30}
		}
		d.Inspectors = append(d.Inspectors, in)
		d.InspectorDepartments = append(d.InspectorDepartments, dept)
		d.Accounts = append(d.Accounts, Account{fmt.Sprintf("inspector%02d", i+1), in.Name, server.RoleInspector, dept, i})
	}
	d.Declarations = []Declaration{
		{0, 3, "配偶系该企业股东 (spouse is a shareholder)"},
		{21, 10, "近亲属在该企业任职 (close relative works there)"},
	}
	return d
}

// CreditCode returns a random valid unified social credit code starting with
// prefix8 (registration authority, kind and division code).
func CreditCode(prefix8 string, r *rand.Rand) string {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY" // the credit code set, which the org code body must also fit
	body := make([]byte, 8)
	for i := range body {
		if i < 2 {
			body[i] = alphabet[r.IntN(10)] // org codes mostly start with digits
		} else {
			body[i] = alphabet[r.IntN(len(alphabet))]
		}
	}
	first17 := prefix8 + string(body) + string(server.OrgCodeCheckChar(string(body)))
	return first17 + string(server.CreditCodeCheckChar(first17))
}

// MobileNumber returns a random 11-digit mainland mobile number, 1[3-9]
// followed by nine digits.
func MobileNumber(r *rand.Rand) string {
	return fmt.Sprintf("1%d%09d", 3+r.IntN(7), r.IntN(1_000_000_000))
}

func riskClass(r *rand.Rand) server.RiskClass {
	switch x := r.IntN(100); {
	case x < 45:
		return "A"
	case x < 80:
		return "B"
	case x < 95:
		return "C"
	default:
		return "D"
	}
}

func pick(r *rand.Rand, words []string) string { return words[r.IntN(len(words))] }

func personName(r *rand.Rand) string {
	name := pick(r, surnames) + pick(r, givenChars)
	if r.IntN(3) > 0 {
		name += pick(r, givenChars)
	}
	return name
}

var (
	nameWords1 = []string{"星际", "极速", "云端", "蓝海", "飞扬", "网虫", "电竞", "光年", "银河", "启航", "网鱼", "天空", "聚友", "竞技", "未来"}
	nameWords2 = []string{"", "e站", "时代", "空间", "联盟", "部落", "港湾", "驿站", "之家", "世界"}
	roads      = []string{"新华道", "建设路", "北新道", "长宁道", "学院路", "卫国路", "裕华道", "龙泽路", "西山道", "文化路", "光明路", "华岩路", "凤凰道", "友谊路"}
	surnames   = []string{"陈", "林", "黄", "张", "李", "王", "吴", "刘", "蔡", "杨", "郑", "许", "谢", "洪", "曾", "苏", "周", "叶", "庄", "柯"}
	givenChars = []string{"伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "涛", "明", "超", "秀", "霞", "平", "刚", "华", "婷", "志", "建", "国", "雪", "丽", "鑫", "斌"}
)

// CheckItemSpec is a demo check item.
type CheckItemSpec struct {
	Department, Code, Title, LegalBasis string
}

// CheckItems are the demo departments' check items for internet cafés.
var CheckItems = []CheckItemSpec{
	{CultureCode, "WH-01", "是否核对、登记上网消费者有效身份证件", "《互联网上网服务营业场所管理条例》第二十三条"},
	{CultureCode, "WH-02", "是否接纳未成年人进入营业场所", "《互联网上网服务营业场所管理条例》第二十一条"},
	{CultureCode, "WH-03", "是否在显著位置悬挂网络文化经营许可证", "《互联网上网服务营业场所管理条例》第二十一条"},
	{CultureCode, "WH-04", "是否擅自停止实施经营管理技术措施", "《互联网上网服务营业场所管理条例》第三十一条"},
	{MarketCode, "SC-01", "营业执照是否在经营场所醒目位置公示", "《市场主体登记管理条例》第三十六条"},
	{MarketCode, "SC-02", "商品和服务是否明码标价", "《价格法》第十三条"},
	{MarketCode, "SC-03", "是否按规定报送年度报告", "《企业信息公示暂行条例》第八条"},
}

// Materials are what each demo department asks every target to prepare for
// the visit, in the order its notification letter lists them.
var Materials = map[string][]string{
	CultureCode: {
		"网络文化经营许可证（正本）",
		"上网消费者登记记录（近三个月，含有效身份证件核验记录）",
		"经营管理技术措施运行记录",
		"未成年人禁入标志设置及巡查记录",
		"从业人员名册及安全培训记录",
	},
	MarketCode: {
		"营业执照（正本）",
		"上网服务收费标准及明码标价公示牌",
		"最近一个年度的年度报告公示回执",
		"食品经营许可证或备案凭证（如销售食品、饮料）",
	},
}

// Contact is the lead department's office line printed on the demo
// letters (a made-up number in the city's 0315 area).
var Contact = server.LeadContact{Office: "市文化和旅游局文化市场管理科", Phone: "0315-5550123"}

// CampaignName and CampaignRandomness describe the demo campaign, drawn on
// first start so that inspectors have packets to work on.
const CampaignName = "演示：全市互联网上网服务营业场所双随机联合抽查"

// CampaignRandomness is the demo's stand-in for the public values a real
// campaign takes from a future lottery draw.
var CampaignRandomness = []string{"演示用随机数 03 07 12 19 25 31 + 08 (demo only)"}
