package demo

// surnames are common surnames of rural Henan with rough weights (per
// mille), after the 2020 census ranking of surnames by population.
var surnames = []struct {
	s string
	w int
}{
	{"王", 95}, {"李", 90}, {"张", 88}, {"刘", 70}, {"陈", 45}, {"杨", 40}, {"赵", 35}, {"黄", 20}, {"周", 25}, {"吴", 18},
	{"徐", 15}, {"孙", 22}, {"胡", 14}, {"朱", 16}, {"高", 20}, {"林", 6}, {"何", 10}, {"郭", 25}, {"马", 22}, {"罗", 6},
	{"梁", 10}, {"宋", 14}, {"郑", 12}, {"谢", 8}, {"韩", 12}, {"唐", 6}, {"冯", 10}, {"于", 8}, {"董", 9}, {"萧", 3},
	{"程", 9}, {"曹", 10}, {"袁", 7}, {"邓", 5}, {"许", 9}, {"傅", 3}, {"沈", 4}, {"曾", 3}, {"彭", 5}, {"吕", 7},
	{"苏", 6}, {"卢", 6}, {"蒋", 5}, {"蔡", 6}, {"贾", 6}, {"丁", 6}, {"魏", 8}, {"薛", 5}, {"叶", 3}, {"阎", 6},
	{"余", 4}, {"潘", 4}, {"杜", 6}, {"戴", 3}, {"夏", 4}, {"钟", 3}, {"汪", 3}, {"田", 7}, {"任", 7}, {"姜", 5},
	{"范", 6}, {"方", 4}, {"石", 5}, {"姚", 5}, {"谭", 2}, {"廖", 2}, {"邹", 2}, {"熊", 2}, {"金", 3}, {"陆", 2},
	{"郝", 4}, {"孔", 4}, {"白", 5}, {"崔", 5}, {"康", 4}, {"毛", 3}, {"邱", 3}, {"秦", 4}, {"江", 2}, {"史", 4},
	{"顾", 2}, {"侯", 5}, {"邵", 3}, {"孟", 5}, {"龙", 2}, {"万", 3}, {"段", 4}, {"雷", 3}, {"钱", 2}, {"汤", 3},
	{"尹", 3}, {"黎", 1}, {"易", 2}, {"常", 4}, {"武", 5}, {"乔", 4}, {"贺", 3}, {"赖", 1}, {"龚", 2}, {"文", 3},
	{"单", 2}, {"解", 1}, {"仇", 1}, {"查", 1}, {"乐", 1}, {"翟", 2}, {"牛", 4}, {"申", 3}, {"尚", 3}, {"耿", 3},
}

// givenMale and givenFemale are characters common in given names by sex.
var givenMale = []rune("伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭亮建国庆峰宁志成东海林文博新立永春德福贵喜生山发金全")
var givenFemale = []rune("芳娟敏静丽艳娜霞秀英玲桂兰燕萍红梅琳洁莉雪婷颖倩琴云凤翠荣慧珍彩玉华春秋月美欣悦怡婉佳")

// townships are the demo county's 20 townships and sub-districts.
var townships = []string{
	"古槐街道", "清河街道", "阳城镇", "万冢镇", "东和店镇", "庙湾镇", "射桥镇", "西洋店镇", "杨埠镇", "万金店镇",
	"高杨店镇", "郭楼镇", "李屯镇", "辛店镇", "十字路乡", "老王岗乡", "玉皇庙乡", "双庙乡", "东皇庙乡", "后刘乡",
}

// villageSuffixes make village names with a surname or two: 张刘村, 陈庄村, 王营村.
var villageSuffixes = []string{"庄", "营", "寨", "楼", "店", "岗", "湾", "桥", "屯", "集", "园", "洼"}

// countyDepartments are the clinical and technical departments of the
// lead county hospital, with the specialty code and number of doctors.
var countyDepartments = []struct {
	name, specialty string
	doctors         int
}{
	{"心血管内科", "cardiology", 8}, {"内分泌科", "endocrinology", 6}, {"神经内科", "neurology", 7},
	{"呼吸与危重症医学科", "respiratory", 7}, {"消化内科", "gastroenterology", 6}, {"肿瘤科", "oncology", 5},
	{"普外科", "general_surgery", 8}, {"骨科", "orthopedics", 7}, {"妇产科", "obstetrics", 8},
	{"儿科", "pediatrics", 6}, {"康复医学科", "rehabilitation", 5}, {"急诊科", "emergency", 8},
	{"感染性疾病科", "infectious", 4}, {"精神心理科", "psychiatry", 4}, {"麻醉科", "anesthesiology", 5},
	{"全科医学科", "general_practice", 5},
}

// diagnosisCenters are the county's shared diagnosis centers (seed 004).
var diagnosisCenters = []struct {
	name, specialty string
	readers         int
}{
	{"县域影像诊断中心", "radiology", 6}, {"县域心电诊断中心", "ecg", 5}, {"县域超声诊断中心", "ultrasound", 5}, {"县域医学检验中心", "laboratory", 4},
}
