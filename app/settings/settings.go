// Package settings holds the platform's typed parameters (系统参数): their definitions,
// defaults, validation and help text, and a cached reader over the settings table. Secrets
// (channel credentials) are kept sealed with an auth.Box and are never read back in full
// by the console.
package settings

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"campuspay/store"
)

// Kind is a setting's value type.
type Kind string

const (
	String Kind = "string" // one line of text
	Text   Kind = "text"   // several lines (a public key)
	Int    Kind = "int"
	Bool   Kind = "bool"
	List   Kind = "list"   // comma-separated words
	Clock  Kind = "clock"  // a time of day, HH:MM (Asia/Shanghai)
	URL    Kind = "url"    // an http(s) address
	Secret Kind = "secret" // stored sealed; the console shows only a mask
)

// Def defines one setting.
type Def struct {
	Key      string
	Kind     Kind
	Section  string // the group the console shows it in
	Default  string
	Label    string // Simplified Chinese
	Help     string
	Optional bool  // String, Text, URL, Secret: may be empty
	Min      int64 // for Int
	Max      int64
	Choices  []string // for List: allowed words
	Names    []string // for List: the words as people read them, beside Choices
	Pattern  *regexp.Regexp
	Format   string // what Pattern wants, for the error message
	// Check, when set, validates a non-empty String or Text value after the checks above
	// and returns it normalised; its error is shown after the label.
	Check func(string) (string, error)
}

// Keys of the settings the platform reads.
const (
	SchoolName          = "school.name"
	ReceiptTitle        = "receipt.title"
	ReceiptIssuer       = "receipt.issuer"
	OrderTimeoutMinutes = "order.timeout_minutes"
	ChannelsEnabled     = "channels.enabled"

	CampusCardEndpoint = "campuscard.endpoint"
	CampusCardKey      = "campuscard.key"

	ReconTime = "recon.time"

	PasswordMinLength     = "password.min_length"
	PasswordLettersDigits = "password.letters_digits"
	SessionTimeoutMinutes = "session.timeout_minutes"
	APIRatePerMinute      = "api.rate_per_minute"

	CASEnabled       = "sso.cas_enabled"
	CASURL           = "sso.cas_url"
	OIDCEnabled      = "sso.oidc_enabled"
	OIDCIssuer       = "sso.oidc_issuer"
	OIDCClientID     = "sso.oidc_client_id"
	OIDCClientSecret = "sso.oidc_client_secret"

	// Single sign-on: what the SSO engineer added (attribute and claim names, the CAS 2.0
	// fallback, OIDC scopes, creating payers at first sign-in).
	CASProtocol2     = "sso.cas_protocol2"
	CASAttrPayerNo   = "sso.cas_attr_payer_no"
	CASAttrName      = "sso.cas_attr_name"
	CASAttrPhone     = "sso.cas_attr_phone"
	OIDCScopes       = "sso.oidc_scopes"
	OIDCClaimLogin   = "sso.oidc_claim_login"
	OIDCClaimPayerNo = "sso.oidc_claim_payer_no"
	OIDCClaimName    = "sso.oidc_claim_name"
	OIDCClaimPhone   = "sso.oidc_claim_phone"
	SSOAutoCreate    = "sso.auto_create_payers"

	// Outbound connections (egress.go).
	EgressAllow           = "egress.allow"
	CallbackRetrySchedule = "callback.retry_schedule"
)

// SimulatorChannels are the channels that exist only as simulators (play money): they may
// be enabled only while simulators are on.
var SimulatorChannels = []string{"sandbox"}

// Length limits of text values, in characters.
const (
	maxStringLength = 200
	maxTextLength   = 4000
	maxSecretLength = 8000
)

// Sections of the settings page, and help texts several settings share.
const (
	sectionBasic    = "基本信息"
	sectionPayment  = "收款与支付渠道"
	sectionCard     = "校园一卡通"
	sectionRecon    = "对账"
	sectionSecurity = "账号安全"
	sectionSSO      = "统一身份认证"

	secretHelpSuffix = "加密保存，保存后只显示末四位。"
	publicKeyHelp    = "PEM 格式或去掉首尾行的 Base64 文本。"
	privateKeyHelp   = "应用私钥（PKCS#8 PEM 或 Base64），" + secretHelpSuffix
)

// claimNameRE is what a CAS attribute or OIDC claim name may be: letters (Chinese too),
// digits and _ . : -, no spaces.
var claimNameRE = regexp.MustCompile(`^[\p{L}\p{N}_.:-]{1,64}$`)

const claimNameFormat = "1 到 64 个字母、数字或 _ . : -（不含空格）"

// Defs lists every setting in the order the console shows them.
var Defs = []Def{
	{Key: SchoolName, Kind: String, Section: sectionBasic, Default: "示例大学", Label: "学校名称", Help: "显示在收银台、票据和报表的抬头。"},
	{Key: ReceiptTitle, Kind: String, Section: sectionBasic, Default: "非税收入一般缴款书（电子）", Label: "票据标题", Help: "打印在每张票据顶部。"},
	{Key: ReceiptIssuer, Kind: String, Section: sectionBasic, Default: "财务处", Label: "开票单位", Help: "票据上的收款单位（盖章处）。"},

	{Key: OrderTimeoutMinutes, Kind: Int, Section: sectionPayment, Default: "15", Min: 1, Max: 120, Label: "订单超时（分钟）", Help: "支付订单在此时间内未支付即关闭，释放其中的账单。"},
	// No channel by default: a new database takes no payment until finance enables a real
	// one (the demo loader enables the simulated ones in a demo database).
	{Key: ChannelsEnabled, Kind: List, Section: sectionPayment, Default: "", Optional: true,
		Choices: []string{"sandbox", "campuscard", "alipay", "wechatpay", "unionpay"},
		Names:   []string{"在线支付（模拟）", "校园卡", "支付宝", "微信支付", "云闪付（银联）"},
		Label:   "启用的支付渠道", Help: "收银台向缴费人提供的渠道。停用某渠道只停止新的支付，已发起的订单和已审批的退款照常处理。校园卡须先填写一卡通接口地址和密钥；支付宝、微信支付、云闪付的密钥和证书在「收款商户」页按商户填写，某商户的账户启用后才会出现在该商户收费项目的收银台。「在线支付（模拟）」只在演示模式下可用。"},

	{Key: CampusCardEndpoint, Kind: URL, Section: sectionCard, Optional: true, Label: "接口地址", Help: "一卡通系统的接口地址，填写后校园卡支付即发往此地址（须同时填写接口密钥）；留空时只在演示模式下使用内置的模拟一卡通。"},
	{Key: CampusCardKey, Kind: Secret, Section: sectionCard, Optional: true, Label: "接口密钥", Help: "与一卡通系统约定的签名密钥，" + secretHelpSuffix},

	{Key: ReconTime, Kind: Clock, Section: sectionRecon, Default: "02:30", Label: "每日对账时间", Help: "每天在此时刻（北京时间，HH:MM）下载前一日的渠道对账单并自动对账。"},

	{Key: PasswordMinLength, Kind: Int, Section: sectionSecurity, Default: "8", Min: 6, Max: 64, Label: "密码最短长度", Help: "新建账号和重置密码时的最少字符数。"},
	{Key: PasswordLettersDigits, Kind: Bool, Section: sectionSecurity, Default: "true", Label: "密码须同时包含字母和数字"},
	{Key: SessionTimeoutMinutes, Kind: Int, Section: sectionSecurity, Default: "120", Min: 5, Max: 1440, Label: "登录会话有效期（分钟）", Help: "无操作超过此时长须重新登录，5 到 1440 分钟。"},
	{Key: APIRatePerMinute, Kind: Int, Section: sectionSecurity, Default: "600", Min: 10, Max: 60000, Label: "接入系统接口调用上限（次/分钟）",
		Help: "每个接入系统每分钟最多调用的接口次数（各服务器合计）；超出的请求返回 HTTP 429（rate_limited），并在 Retry-After 中告知需等待的秒数。"},

	{Key: CASEnabled, Kind: Bool, Section: sectionSSO, Default: "false", Label: "启用 CAS 单点登录"},
	{Key: CASURL, Kind: URL, Section: sectionSSO, Optional: true, Label: "CAS 服务地址", Help: "如 https://cas.example.edu.cn/cas"},
	{Key: CASProtocol2, Kind: Bool, Section: sectionSSO, Default: "false", Label: "CAS 服务端仅支持 2.0 协议",
		Help: "默认按 CAS 3.0 经 /p3/serviceValidate 校验票据并读取用户属性；旧版服务端不支持时勾选，改用 /serviceValidate。在 CAS 服务端登记的服务地址为：平台地址 + /auth/cas/callback（单点退出请求也发往此地址）。"},
	{Key: CASAttrPayerNo, Kind: String, Section: sectionSSO, Default: "employeeNumber", Optional: true, Label: "CAS 学号/工号属性名",
		Help: "CAS 返回的用户属性中表示学号/工号的属性名；留空或该属性缺失时以 CAS 用户名作为学号/工号。", Pattern: claimNameRE, Format: claimNameFormat},
	{Key: CASAttrName, Kind: String, Section: sectionSSO, Default: "name", Optional: true, Label: "CAS 姓名属性名", Pattern: claimNameRE, Format: claimNameFormat},
	{Key: CASAttrPhone, Kind: String, Section: sectionSSO, Default: "mobile", Optional: true, Label: "CAS 手机号属性名", Pattern: claimNameRE, Format: claimNameFormat},
	{Key: OIDCEnabled, Kind: Bool, Section: sectionSSO, Default: "false", Label: "启用 OIDC 单点登录"},
	{Key: OIDCIssuer, Kind: URL, Section: sectionSSO, Optional: true, Label: "OIDC Issuer 地址", Help: "如 https://sso.example.edu.cn"},
	{Key: OIDCClientID, Kind: String, Section: sectionSSO, Optional: true, Label: "OIDC Client ID"},
	{Key: OIDCClientSecret, Kind: Secret, Section: sectionSSO, Optional: true, Label: "OIDC Client Secret", Help: secretHelpSuffix},
	{Key: OIDCScopes, Kind: String, Section: sectionSSO, Default: "openid profile", Label: "OIDC 申请的 scope",
		Help:    "以空格分隔，openid 总会带上。在身份认证平台登记的回调地址为：平台地址 + /auth/oidc/callback。",
		Pattern: regexp.MustCompile(`^[\x21-\x7e]+( [\x21-\x7e]+)*$`), Format: "以空格分隔的 scope 名"},
	{Key: OIDCClaimLogin, Kind: String, Section: sectionSSO, Default: "preferred_username", Optional: true, Label: "OIDC 登录名 claim", Pattern: claimNameRE, Format: claimNameFormat},
	{Key: OIDCClaimPayerNo, Kind: String, Section: sectionSSO, Default: "employee_number", Optional: true, Label: "OIDC 学号/工号 claim",
		Help: "如 employee_number、student_id；用户先按学号/工号匹配，再按登录名匹配。", Pattern: claimNameRE, Format: claimNameFormat},
	{Key: OIDCClaimName, Kind: String, Section: sectionSSO, Default: "name", Optional: true, Label: "OIDC 姓名 claim", Pattern: claimNameRE, Format: claimNameFormat},
	{Key: OIDCClaimPhone, Kind: String, Section: sectionSSO, Default: "phone_number", Optional: true, Label: "OIDC 手机号 claim", Pattern: claimNameRE, Format: claimNameFormat},
	{Key: SSOAutoCreate, Kind: Bool, Section: sectionSSO, Default: "false", Label: "首次登录自动创建缴费人",
		Help: "统一身份认证登录的用户在平台中没有账号时，以其学号/工号自动创建缴费人账号；不勾选则提示其联系财务处开通。"},

	egressAllowDef, callbackRetryDef,

	// 会计凭证: the accounts of the daily voucher export (app/recon/vouchers.go), each
	// "code name". One income account per item category, one clearing account per channel.
	{Key: VoucherWord, Kind: String, Section: sectionVoucher, Default: "记", Label: "凭证字", Help: "导出凭证的凭证字，如 记、收、付。",
		Pattern: regexp.MustCompile(`^\p{Han}{1,2}$`), Format: "一到两个汉字"},
	voucherAccount(VoucherIncomePrefix+"tuition", "学费收入科目", "410101 事业收入-学费"),
	voucherAccount(VoucherIncomePrefix+"accommodation", "住宿费收入科目", "410102 事业收入-住宿费"),
	voucherAccount(VoucherIncomePrefix+"exam", "考试费收入科目", "410103 事业收入-考试费"),
	voucherAccount(VoucherIncomePrefix+"training", "培训费收入科目", "410104 事业收入-培训费"),
	voucherAccount(VoucherIncomePrefix+"conference", "会议费收入科目", "410105 事业收入-会议费"),
	voucherAccount(VoucherIncomePrefix+"donation", "捐赠收入科目", "4601 捐赠收入"),
	voucherAccount(VoucherIncomePrefix+"other", "其他收入科目", "4609 其他收入"),
	voucherAccount(VoucherClearingPrefix+"sandbox", "在线支付（模拟）清算科目", "122101 其他应收款-支付渠道-在线支付"),
	voucherAccount(VoucherClearingPrefix+"campuscard", "校园卡清算科目", "122102 其他应收款-支付渠道-校园卡"),
	voucherAccount(VoucherClearingPrefix+"alipay", "支付宝清算科目", "122103 其他应收款-支付渠道-支付宝"),
	voucherAccount(VoucherClearingPrefix+"wechatpay", "微信支付清算科目", "122104 其他应收款-支付渠道-微信支付"),
	voucherAccount(VoucherClearingPrefix+"offline", "线下收款（现金、POS、代扣）科目", "1002 银行存款"),
	voucherAccount(VoucherFeeAccount, "支付手续费科目", "5901 其他费用-支付手续费"),
	voucherAccount(VoucherOverpaidAccount, "溢缴款科目", "2307 其他应付款-溢缴款"),
}

// Voucher settings (section 会计凭证). An account's value is its code and its name,
// separated by a space: "1002 银行存款".
const (
	sectionVoucher = "会计凭证"

	VoucherWord            = "voucher.word"
	VoucherIncomePrefix    = "voucher.income."   // + item category
	VoucherClearingPrefix  = "voucher.clearing." // + channel
	VoucherFeeAccount      = "voucher.fee"
	VoucherOverpaidAccount = "voucher.overpaid"
)

var voucherAccountRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.\-]{0,29} +\S.{0,59}$`)

func voucherAccount(key, label, def string) Def {
	return Def{Key: key, Kind: String, Section: sectionVoucher, Default: def, Label: label,
		Help: "科目编码和科目名称，以空格分隔，如「" + def + "」。", Pattern: voucherAccountRE, Format: "「科目编码 科目名称」，如 1002 银行存款"}
}

// Account reads an account setting ("code name") as its code and name.
func (s *Store) Account(ctx context.Context, key string) (code, name string) {
	v := s.Get(ctx, key)
	if _, err := Validate(key, v); err != nil {
		d, _ := def(key)
		v = d.Default
	}
	code, name, _ = strings.Cut(v, " ")
	return code, strings.TrimSpace(name)
}

// Lookup returns the definition of key.
func Lookup(key string) (Def, bool) {
	for _, d := range Defs {
		if d.Key == key {
			return d, true
		}
	}
	return Def{}, false
}

func def(key string) (Def, bool) { return Lookup(key) }

// Sections returns the section names in the order the console shows them.
func Sections() []string {
	var out []string
	for _, d := range Defs {
		if len(out) == 0 || out[len(out)-1] != d.Section {
			out = append(out, d.Section)
		}
	}
	return out
}

// ChoiceName is how people read a List setting's word.
func (d Def) ChoiceName(word string) string {
	for i, c := range d.Choices {
		if c == word && i < len(d.Names) {
			return d.Names[i]
		}
	}
	return word
}

var clockRE = regexp.MustCompile(`^([01]?[0-9]|2[0-3]):([0-5][0-9])$`)

// Validate checks value against the setting's definition and returns it normalised. For a
// Secret, value is the plain secret (sealing is the Store's business).
func Validate(key, value string) (string, error) {
	d, ok := def(key)
	if !ok {
		return "", fmt.Errorf("未知参数 %s", key)
	}
	value = strings.TrimSpace(value)
	switch d.Kind {
	case Int:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return "", fmt.Errorf("%s 须为整数", d.Label)
		}
		if n < d.Min || n > d.Max {
			return "", fmt.Errorf("%s 须在 %d 到 %d 之间", d.Label, d.Min, d.Max)
		}
		return strconv.FormatInt(n, 10), nil
	case Bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return "", fmt.Errorf("%s 须为是或否", d.Label)
		}
		return strconv.FormatBool(b), nil
	case List:
		var words []string
		for _, w := range strings.Split(value, ",") {
			w = strings.TrimSpace(w)
			if w == "" || contains(words, w) {
				continue
			}
			if len(d.Choices) > 0 && !contains(d.Choices, w) {
				return "", fmt.Errorf("%s 不认识「%s」，可选：%s", d.Label, w, strings.Join(d.Choices, "、"))
			}
			words = append(words, w)
		}
		if len(words) == 0 && !d.Optional {
			return "", fmt.Errorf("%s 至少选择一项", d.Label)
		}
		return strings.Join(words, ","), nil
	case Clock:
		m := clockRE.FindStringSubmatch(value)
		if m == nil {
			return "", fmt.Errorf("%s 须为 HH:MM 格式的时刻，如 02:30", d.Label)
		}
		h, _ := strconv.Atoi(m[1])
		return fmt.Sprintf("%02d:%s", h, m[2]), nil
	case URL:
		if value == "" && d.Optional {
			return "", nil
		}
		u, err := url.Parse(value)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(value) > 500 {
			return "", fmt.Errorf("%s 须为 http:// 或 https:// 开头的网址", d.Label)
		}
		return value, nil
	}
	limit := maxStringLength
	switch d.Kind {
	case Text:
		limit = maxTextLength
	case Secret:
		limit = maxSecretLength
	default:
		if strings.ContainsAny(value, "\r\n") {
			return "", fmt.Errorf("%s 不能换行", d.Label)
		}
	}
	if value == "" {
		if d.Optional {
			return "", nil
		}
		return "", fmt.Errorf("%s 不能为空", d.Label)
	}
	if utf8.RuneCountInString(value) > limit {
		return "", fmt.Errorf("%s 最多 %d 字", d.Label, limit)
	}
	if d.Pattern != nil && !d.Pattern.MatchString(value) {
		return "", fmt.Errorf("%s 须为%s", d.Label, d.Format)
	}
	if d.Check != nil {
		v, err := d.Check(value)
		if err != nil {
			return "", fmt.Errorf("%s：%v", d.Label, err)
		}
		return v, nil
	}
	return value, nil
}

func contains(list []string, w string) bool {
	for _, x := range list {
		if x == w {
			return true
		}
	}
	return false
}

// Store reads settings with a short cache, so that hot paths (creating an order) do not
// query the table every time, while a change made on another instance shows within TTL.
type Store struct {
	DB  *bun.DB
	TTL time.Duration
	// Simulators: the simulated payment company and card system are served (demo mode or
	// -simulators), so their channels may be enabled. Set once, before the store is used.
	Simulators bool

	mu     sync.Mutex
	values map[string]string
	loaded time.Time
}

// New returns a Store over db with a 10-second cache.
func New(db *bun.DB) *Store { return &Store{DB: db, TTL: 10 * time.Second} }

func (s *Store) load(ctx context.Context) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values != nil && time.Since(s.loaded) < s.TTL {
		return s.values
	}
	var rows []store.Setting
	if err := s.DB.NewSelect().Model(&rows).Scan(ctx); err != nil && s.values != nil {
		return s.values // keep serving the last good values while the database hiccups
	}
	m := make(map[string]string, len(rows))
	for _, r := range rows {
		m[r.Key] = r.Value
	}
	s.values, s.loaded = m, time.Now()
	return m
}

func (s *Store) forget() {
	s.mu.Lock()
	s.values = nil
	s.mu.Unlock()
}

// Get returns the setting's value, or its default. For a Secret it is the sealed text:
// use Secret for the plain value.
func (s *Store) Get(ctx context.Context, key string) string {
	if v, ok := s.load(ctx)[key]; ok {
		return v
	}
	d, _ := def(key)
	return d.Default
}

// Int returns an Int setting.
func (s *Store) Int(ctx context.Context, key string) int64 {
	n, err := strconv.ParseInt(s.Get(ctx, key), 10, 64)
	if err != nil {
		d, _ := def(key)
		n, _ = strconv.ParseInt(d.Default, 10, 64)
	}
	return n
}

// Bool returns a Bool setting.
func (s *Store) Bool(ctx context.Context, key string) bool {
	b, err := strconv.ParseBool(s.Get(ctx, key))
	if err != nil {
		d, _ := def(key)
		b, _ = strconv.ParseBool(d.Default)
	}
	return b
}

// List returns a List setting's words.
func (s *Store) List(ctx context.Context, key string) []string {
	v := s.Get(ctx, key)
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// TimeOfDay returns a Clock setting as hour and minute.
func (s *Store) TimeOfDay(ctx context.Context, key string) (hour, minute int) {
	v, err := Validate(key, s.Get(ctx, key))
	if err != nil {
		d, _ := def(key)
		v = d.Default
	}
	hour, _ = strconv.Atoi(v[:2])
	minute, _ = strconv.Atoi(v[3:])
	return hour, minute
}

// Sealer seals and opens secrets at rest (auth.Box does).
type Sealer interface {
	Seal(plain string) (string, error)
	Open(sealed string) (string, error)
}

// Secret returns a Secret setting's plain value ("" when it was never set).
func (s *Store) Secret(ctx context.Context, key string, box Sealer) (string, error) {
	sealed := s.load(ctx)[key]
	if sealed == "" {
		return "", nil
	}
	plain, err := box.Open(sealed)
	if err != nil {
		return "", fmt.Errorf("settings: open %s: %w", key, err)
	}
	return plain, nil
}

// Set validates and stores a value, and returns the old one for the audit log. It is for
// plain settings; secrets go through Save, which seals them.
func (s *Store) Set(ctx context.Context, key, value, by string) (old string, err error) {
	if d, _ := def(key); d.Kind == Secret {
		return "", fmt.Errorf("settings: %s is a secret: use Save", key)
	}
	v, err := Validate(key, value)
	if err != nil {
		return "", err
	}
	old = s.Get(ctx, key)
	row := &store.Setting{Key: key, Value: v, UpdatedBy: by, UpdatedAt: store.UTC(time.Now())}
	if err := store.PutSetting(ctx, s.DB, row); err != nil {
		return "", err
	}
	s.forget()
	return old, nil
}
