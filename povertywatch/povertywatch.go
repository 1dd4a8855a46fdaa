// Package povertywatch is the watch on households falling, or falling
// back, into poverty through illness (因病致贫返贫监测): each household's
// medical out-of-pocket spending in a year, from its members' live
// settlements (every payer layer already applied), against thresholds the
// province configures; the households that cross or approach them, listed
// for the medical-assistance and civil-affairs offices with the bills
// behind them; an alert when one crosses; and the action taken.
//
// The rule comes from 国务院办公厅《关于健全重特大疾病医疗保险和救助制度的意见》
// (国办发〔2021〕42号) §(五) "建立健全防范和化解因病致贫返贫长效机制":
// the medical-insurance office monitors people whose out-of-pocket medical
// costs are high relative to income and hands them to civil affairs and
// rural revitalisation for assistance. The amounts and shares are set
// locally ([U] in the reference policy-rules.md): they are
// configuration (Config), never constants.
package povertywatch

import (
	"time"

	"countycare/settle"
)

// Level is where a household stands against its threshold.
type Level string

// Levels, from safe to crossed.
const (
	LevelBelow       Level = "below"       // 未达预警线
	LevelApproaching Level = "approaching" // 接近预警线
	LevelCrossed     Level = "crossed"     // 超过预警线
)

// Basis says which of a household's two out-of-pocket totals the
// threshold is compared with.
type Basis string

// Bases.
const (
	// BasisTotal is everything the household paid itself: in-policy
	// co-payments and out-of-policy costs (个人负担总费用).
	BasisTotal Basis = "total"
	// BasisInPolicy is the in-policy part only (政策范围内个人自付).
	BasisInPolicy Basis = "in_policy"
)

// Cost is a household's medical spending in one year, kept incrementally
// by the store as its members' settlements are made, corrected and
// reversed.
type Cost struct {
	County      string
	HouseholdID int64
	Year        int
	// TotalOOP is the sum of the patient's share of every live
	// settlement of the household's members in the year.
	TotalOOP settle.Fen
	// InPolicyOOP is the part of TotalOOP that was within the policy
	// range: eligible cost less what every layer paid.
	InPolicyOOP settle.Fen
	Bills       int // live settlements counted
	// Income is the household's yearly income as recorded (0: none).
	Income    settle.Fen
	UpdatedAt time.Time

	// Shown with the list: the household's number, village and head.
	Number    string
	VillageID int64
	HeadID    int64
	HeadName  string
	Members   int
	// Poverty is the head of household's poverty category ("" if none).
	Poverty string
}

// OOP returns the total the basis compares.
func (c Cost) OOP(b Basis) settle.Fen {
	if b == BasisInPolicy {
		return c.InPolicyOOP
	}
	return c.TotalOOP
}

// Assessment is a household's standing against its year's thresholds.
type Assessment struct {
	Level Level
	// Threshold is the effective line: the absolute amount, or the share
	// of recorded income when that is lower.
	Threshold settle.Fen
	// ByIncome is true when the income share set the line.
	ByIncome bool
	// Spent is the compared out-of-pocket total.
	Spent settle.Fen
	// Share is Spent as a share of Threshold, in basis points (10000 = 100 %).
	Share settle.Ratio
}

// Assess places a household's year against t (国办发〔2021〕42号 §(五);
// the lines are t's). The line is the absolute amount, or — where the
// household's income is recorded and t sets a share — that share of the
// income when it is lower (a poor household reaches danger sooner). The
// household has crossed when its out-of-pocket total reaches the line, and
// is approaching when it reaches t.Approach of it.
func Assess(c Cost, t Thresholds) Assessment {
	line := t.AbsoluteOOP
	byIncome := false
	if c.Income > 0 && t.IncomeShare > 0 {
		if l := t.IncomeShare.Of(c.Income); l < line {
			line, byIncome = l, true
		}
	}
	spent := c.OOP(t.Basis)
	a := Assessment{Level: LevelBelow, Threshold: line, ByIncome: byIncome, Spent: spent}
	if line <= 0 {
		// A household with a recorded income so small that its line
		// rounds to nothing has crossed with its first fen.
		a.Share = settle.Full
		if spent > 0 {
			a.Level = LevelCrossed
		}
		return a
	}
	a.Share = settle.Ratio(int64(spent) * int64(settle.Full) / int64(line))
	// Plain ifs rather than a tagless switch: gremlins cannot mutate a
	// case condition (docs/mutation.md).
	if spent >= line {
		a.Level = LevelCrossed
	} else if int64(spent)*int64(settle.Full) >= int64(t.Approach)*int64(line) {
		a.Level = LevelApproaching
	}
	return a
}
