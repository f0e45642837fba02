// Package settings holds the platform's typed parameters (系统参数): their definitions,
// defaults, validation and help text, and a cached reader over the settings table.
package settings

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"campuspay/store"
)

// Kind is a setting's value type.
type Kind string

const (
	String Kind = "string"
	Int    Kind = "int"
	Bool   Kind = "bool"
	List   Kind = "list" // comma-separated words
)

// Def defines one setting.
type Def struct {
	Key     string
	Kind    Kind
	Default string
	Label   string // Simplified Chinese
	Help    string
	Min     int64 // for Int
	Max     int64
	Choices []string // for List: allowed words
}

// Keys of the settings the platform reads.
const (
	SchoolName          = "school.name"
	ReceiptTitle        = "receipt.title"
	ReceiptIssuer       = "receipt.issuer"
	OrderTimeoutMinutes = "order.timeout_minutes"
	ChannelsEnabled     = "channels.enabled"
)

// Defs lists every setting in the order the console shows them.
var Defs = []Def{
	{Key: SchoolName, Kind: String, Default: "示例大学", Label: "学校名称", Help: "显示在收银台、票据和报表的抬头。"},
	{Key: ReceiptTitle, Kind: String, Default: "非税收入一般缴款书（电子）", Label: "票据标题", Help: "打印在每张票据顶部。"},
	{Key: ReceiptIssuer, Kind: String, Default: "财务处", Label: "开票单位", Help: "票据上的收款单位（盖章处）。"},
	{Key: OrderTimeoutMinutes, Kind: Int, Default: "15", Min: 1, Max: 120, Label: "订单超时（分钟）", Help: "支付订单在此时间内未支付即关闭，释放其中的账单。"},
	{Key: ChannelsEnabled, Kind: List, Default: "sandbox,campuscard", Choices: []string{"sandbox", "campuscard"}, Label: "启用的支付渠道", Help: "收银台向缴费人提供的渠道，逗号分隔。"},
}

func def(key string) (Def, bool) {
	for _, d := range Defs {
		if d.Key == key {
			return d, true
		}
	}
	return Def{}, false
}

// Validate checks value against the setting's definition and returns it normalised.
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
			if w == "" {
				continue
			}
			if len(d.Choices) > 0 && !contains(d.Choices, w) {
				return "", fmt.Errorf("%s 不认识「%s」，可选：%s", d.Label, w, strings.Join(d.Choices, "、"))
			}
			words = append(words, w)
		}
		return strings.Join(words, ","), nil
	default:
		if value == "" {
			return "", fmt.Errorf("%s 不能为空", d.Label)
		}
		if len([]rune(value)) > 200 {
			return "", fmt.Errorf("%s 最多 200 字", d.Label)
		}
		return value, nil
	}
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

// Get returns the setting's value, or its default.
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

// List returns a List setting's words.
func (s *Store) List(ctx context.Context, key string) []string {
	v := s.Get(ctx, key)
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// Set validates and stores a value, and returns the old one for the audit log.
func (s *Store) Set(ctx context.Context, key, value, by string) (old string, err error) {
	v, err := Validate(key, value)
	if err != nil {
		return "", err
	}
	old = s.Get(ctx, key)
	row := &store.Setting{Key: key, Value: v, UpdatedBy: by, UpdatedAt: store.UTC(time.Now())}
	if err := store.PutSetting(ctx, s.DB, row); err != nil {
		return "", err
	}
	s.mu.Lock()
	s.values = nil
	s.mu.Unlock()
	return old, nil
}
