package settings

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"campuspay/app/egress"
)

// The outbound connections' settings: which internal addresses server-side requests may
// reach, and how often an undelivered callback is tried again.

const sectionEgress = "对外连接与回调"

var egressAllowDef = Def{Key: EgressAllow, Kind: Text, Section: sectionEgress, Optional: true, Label: "允许访问的内网地址",
	Help: "平台向接入系统回调、向统一身份认证、一卡通和银行发请求时，默认拒绝回环、链路本地、私有网段等内网地址（按连接时解析出的实际地址检查）。" +
		"确在校园内网的系统，在此填写允许的网段（10.20.0.0/16）、IP 地址或「主机:端口」（oa.example.edu.cn:8443），每行一项。",
	Check: func(v string) (string, error) {
		a, err := egress.ParseAllowList(v)
		if err != nil {
			return "", err
		}
		return a.String(), nil
	}}

var callbackRetryDef = Def{Key: CallbackRetrySchedule, Kind: String, Section: sectionEgress, Default: "15s,1m,5m,30m,2h,6h,12h,24h", Label: "回调重试间隔",
	Help: "回调未收到 2xx 应答时依次等待这些时长再试，最后一次仍失败即标记为失败（财务可重发）。以逗号分隔，单位 s（秒）、m（分钟）、h（小时），" +
		"如 15s,1m,5m,30m,2h,6h,12h,24h；1 到 20 项，每项 1 秒到 72 小时。",
	Check: func(v string) (string, error) {
		d, err := ParseSchedule(v)
		if err != nil {
			return "", err
		}
		return FormatSchedule(d), nil
	}}

// Bounds of a retry schedule.
const (
	maxScheduleSteps = 20
	minScheduleStep  = time.Second
	maxScheduleStep  = 72 * time.Hour
)

// ParseSchedule reads durations separated by commas ("15s,1m,2h", or Go's "1h30m"). The
// error is in Chinese, for the settings page.
func ParseSchedule(v string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '，' || r == ' ' }) {
		d, err := time.ParseDuration(f)
		if err != nil {
			return nil, fmt.Errorf("「%s」不是时长，须如 15s、5m、2h", f)
		}
		if d < minScheduleStep || d > maxScheduleStep {
			return nil, fmt.Errorf("「%s」须在 1 秒到 72 小时之间", f)
		}
		out = append(out, d)
	}
	if len(out) == 0 || len(out) > maxScheduleSteps {
		return nil, fmt.Errorf("须有 1 到 %d 项", maxScheduleSteps)
	}
	return out, nil
}

// FormatSchedule writes durations the way ParseSchedule reads them, shortest form first
// ("90s" is "1m30s", "2h").
func FormatSchedule(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		var b strings.Builder
		h, m, s := d/time.Hour, d%time.Hour/time.Minute, d%time.Minute/time.Second
		for _, u := range []struct {
			n    time.Duration
			unit string
		}{{h, "h"}, {m, "m"}, {s, "s"}} {
			if u.n > 0 {
				b.WriteString(strconv.FormatInt(int64(u.n), 10) + u.unit)
			}
		}
		if rest := d % time.Second; rest > 0 || b.Len() == 0 {
			b.Reset()
			b.WriteString(d.String())
		}
		parts[i] = b.String()
	}
	return strings.Join(parts, ",")
}

// Schedule returns a schedule setting; a stored value that no longer parses gives the
// default.
func (s *Store) Schedule(ctx context.Context, key string) []time.Duration {
	if d, err := ParseSchedule(s.Get(ctx, key)); err == nil {
		return d
	}
	d, _ := def(key)
	out, _ := ParseSchedule(d.Default)
	return out
}
