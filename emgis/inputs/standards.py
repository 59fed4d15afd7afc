"""The default standards profile: response-time targets, speeds and organisational minimums.

Every value carries the text of its source so that reports can cite it; values marked
``proposal`` are planning assumptions for which no national figure was found, and reports must
say so. All of them are defaults that ``district.toml`` may override (see
:mod:`emgis.inputs.settings`).
The numbers follow ``shared/spec/standards.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from emgis.inputs.kinds import TEAM_KINDS


@dataclass(frozen=True)
class Standard:
    """One value of the standards profile.

    Attributes
    ----------
    value
        The number, in ``unit``.
    unit
        Unit of ``value`` (``"min"``, ``"km/h"``, ``"persons"``, ``"m2/person"`` ...).
    source
        Where the value comes from, quoted for reports.
    proposal
        True where no national figure exists and the value is a planning assumption.
    source_zh
        The source in Chinese (reports in Chinese quote it; ``source`` where empty).
    """

    value: float
    unit: str
    source: str
    proposal: bool = False
    source_zh: str = ""

    def cite(self, lang: str) -> str:
        """The source in a language."""
        return (self.source_zh or self.source) if lang == "zh" else self.source


def _freeze(d: dict[str, Standard]) -> Mapping[str, Standard]:
    return MappingProxyType(d)



#: Kinds of every layer, with the aliases a Chinese data set may use for them.
KIND_ALIASES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "villages": MappingProxyType(
            {"village": "village", "村": "village", "行政村": "village", "自然村": "village",
             "community": "community", "社区": "community", "居委会": "community"}
        ),
        "teams": MappingProxyType(
            {**{k: k for k in TEAM_KINDS},
             "微型消防站": "micro_fire_station", "消防站": "fire_station",
             "乡镇专职消防队": "township_fire_brigade", "专职消防队": "township_fire_brigade",
             "乡镇应急救援队": "township_rescue_team", "应急救援队": "township_rescue_team",
             "村应急队": "village_team", "村级应急队": "village_team", "社区应急队": "village_team",
             "森林消防队": "forest_fire_team", "扑火队": "forest_fire_team",
             "医疗": "medical", "卫生院": "medical", "医疗点": "medical",
             "企业专职消防队": "enterprise_brigade", "企业消防队": "enterprise_brigade",
             "social_rescue_team": "social_rescue_team", "社会救援队": "social_rescue_team",
             "社会应急力量": "social_rescue_team", "社会救援力量": "social_rescue_team"}
        ),
        "stockpiles": MappingProxyType(
            {"county": "county", "县": "county", "区": "county", "县级": "county",
             "区级": "county", "县（区）级": "county",
             "township": "township", "乡镇": "township", "镇": "township", "街道": "township",
             "乡镇级": "township", "乡级": "township", "镇级": "township", "街道级": "township",
             "乡镇（街道）级": "township",
             "village": "village", "村": "village", "社区": "village", "村级": "village",
             "社区级": "village", "村（社区）级": "village"}
        ),
        "shelters": MappingProxyType(
            {"emergency": "emergency", "紧急避难场所": "emergency", "紧急": "emergency",
             "紧急避难所": "emergency", "紧急疏散场所": "emergency",
             "fixed": "fixed", "固定避难场所": "fixed", "固定": "fixed", "固定避难所": "fixed"}
        ),
        "warning_points": MappingProxyType(
            {"loudspeaker": "loudspeaker", "村村响": "loudspeaker", "大喇叭": "loudspeaker",
             "广播": "loudspeaker", "应急广播": "loudspeaker",
             "siren": "siren", "警报器": "siren", "防空警报": "siren",
             "warning_point": "warning_point", "预警点": "warning_point",
             "预警信息发布点": "warning_point"}
        ),
        "hazards": MappingProxyType(
            {"flood": "flood", "洪水": "flood", "洪涝": "flood", "洪涝灾害": "flood",
             "内涝": "flood", "淹没": "flood", "山洪": "flood",
             "forest_fire": "forest_fire", "森林火灾": "forest_fire", "山火": "forest_fire",
             "森林火险": "forest_fire", "林火": "forest_fire", "森林草原火灾": "forest_fire",
             "other": "other", "其他": "other"}
        ),
    }
)

#: A hazard zone's effect on the roads, with the words other bureaus' files use for it.
EFFECT_ALIASES: Mapping[str, str] = MappingProxyType({
    "closed": "closed", "封闭": "closed", "中断": "closed", "断交": "closed",
    "禁行": "closed", "交通中断": "closed", "不可通行": "closed",
    "slowed": "slowed", "减速": "slowed", "缓行": "slowed", "慢行": "slowed",
    "限速": "slowed", "通行受限": "slowed",
})

_P = "proposal"

_EIGHT = "泉州 2025 方案: the 'eight haves' of a standardised township station"
_EIGHT_ZH = "泉州2025年方案：乡镇应急管理站规范化建设“八有”"

#: Response-time targets, minutes from dispatch to arrival with turnout included.
TARGETS: Mapping[str, Standard] = _freeze(
    {
        "micro_fire_station": Standard(
            3, "min", "公消〔2015〕301号: 3分钟到场 (community micro fire station standard)",
            source_zh="公消〔2015〕301号：3分钟到场（社区微型消防站建设标准）"),
        "fire_station": Standard(
            5, "min", "GB 51080-2015 4.1.3; 建标152-2017 (arrive at the edge of its district)",
            source_zh="GB 51080-2015 第4.1.3条；建标152-2017（到达辖区边缘）"),
        "township_fire_brigade": Standard(
            15, "min", f"{_P}, after NFPA 1720 rural 14 min", proposal=True,
            source_zh="规划假设，参照 NFPA 1720 农村地区 14 分钟"),
        "township_rescue_team": Standard(
            30, "min", f"{_P}, after 贵州 2018 先期到达不超过30分钟", proposal=True,
            source_zh="规划假设，参照贵州2018年“先期到达不超过30分钟”"),
        "village_team": Standard(
            10, "min", f"{_P}: the team lives in the village and covers neighbours", proposal=True,
            source_zh="规划假设：队伍驻村，兼顾邻村"),
        "forest_fire_team": Standard(
            60, "min", f"{_P}: 30 for a village team, 60 for a township team; no national figure",
            proposal=True, source_zh="规划假设：村级队伍30分钟、乡镇队伍60分钟；无国家标准"),
        "medical": Standard(30, "min", "贵州 2018 pre-hospital targets: 15 urban / 30 rural",
                            source_zh="贵州2018年院前急救目标：城市15分钟、农村30分钟"),
        "enterprise_brigade": Standard(
            15, "min", f"{_P}: as a township full-time brigade", proposal=True,
            source_zh="规划假设：同乡镇专职消防队"),
        "social_rescue_team": Standard(
            30, "min", f"{_P}: as a township rescue team (地企联动, social forces back up)",
            proposal=True, source_zh="规划假设：同乡镇应急救援队（地企联动，社会力量作为补充）"),
        "stockpile": Standard(
            60, "min", "2024 物资保障体系指导意见 (township store; county 6 h, city 8 h)",
            source_zh="2024年物资保障体系指导意见（乡镇储备库；县级6小时、市级8小时）"),
        "shelter_emergency": Standard(10, "min walk", "GB 50413-2007 8.2.10 (about 500 m)",
                                      source_zh="GB 50413-2007 第8.2.10条（约500米）"),
        "shelter_fixed": Standard(60, "min walk", "GB 50413-2007 8.2.10 (2-3 km)",
                                  source_zh="GB 50413-2007 第8.2.10条（2-3千米）"),
    }
)

#: Turnout minutes (time to leave the base) used where a unit does not carry its own.
TURNOUT: Mapping[str, Standard] = _freeze(
    {
        "micro_fire_station": Standard(1, "min", "1-3-5 rule: respond 1, arrive 3 (台州 2018)",
                                       source_zh="“1-3-5”规则：1分钟响应、3分钟到场（台州2018）"),
        "fire_station": Standard(1, "min", "NFPA 1710 turnout 60-80 s",
                                 source_zh="NFPA 1710 出动准备 60-80 秒"),
        "township_fire_brigade": Standard(2, "min", "full-time teams 1-2 min",
                                          source_zh="专职队伍1-2分钟"),
        "township_rescue_team": Standard(2, "min", "full-time teams 1-2 min",
                                          source_zh="专职队伍1-2分钟"),
        "village_team": Standard(5, "min", "volunteer teams 3-5 min",
                                 source_zh="志愿队伍3-5分钟"),
        "forest_fire_team": Standard(3, "min", "volunteer teams 3-5 min",
                                     source_zh="志愿队伍3-5分钟"),
        "medical": Standard(2, "min", "full-time teams 1-2 min",
                                          source_zh="专职队伍1-2分钟"),
        "enterprise_brigade": Standard(2, "min", "full-time teams 1-2 min",
                                          source_zh="专职队伍1-2分钟"),
        "social_rescue_team": Standard(5, "min", "volunteer teams 3-5 min",
                                       source_zh="志愿队伍3-5分钟"),
        "stockpile": Standard(0, "min", "loading time not modelled", source_zh="未计装载时间"),
    }
)

_SPEED_SRC = "JTG B01-2014 design speed x ~0.7 (emergency driving; calibrate locally)"
_SPEED_ZH = "JTG B01-2014 设计速度×约0.7（应急行车；宜本地校准）"

#: Emergency driving speeds per OSM highway class, km/h.
SPEEDS: Mapping[str, Standard] = _freeze(
    {
        "motorway": Standard(80, "km/h", _SPEED_SRC, source_zh=_SPEED_ZH),
        "trunk": Standard(60, "km/h", _SPEED_SRC, source_zh=_SPEED_ZH),
        "primary": Standard(60, "km/h", _SPEED_SRC, source_zh=_SPEED_ZH),
        "secondary": Standard(50, "km/h", _SPEED_SRC, source_zh=_SPEED_ZH),
        "tertiary": Standard(35, "km/h", _SPEED_SRC, source_zh=_SPEED_ZH),
        "unclassified": Standard(25, "km/h", _SPEED_SRC, source_zh=_SPEED_ZH),
        "residential": Standard(20, "km/h", _SPEED_SRC, source_zh=_SPEED_ZH),
        "living_street": Standard(15, "km/h", _SPEED_SRC, source_zh=_SPEED_ZH),
        "service": Standard(15, "km/h", _SPEED_SRC, source_zh=_SPEED_ZH),
        "track": Standard(15, "km/h", _SPEED_SRC, source_zh=_SPEED_ZH),
        "road": Standard(25, "km/h", _SPEED_SRC, source_zh=_SPEED_ZH),
        "offroad": Standard(5, "km/h", "off-road access leg, standards profile",
                            source_zh="道路外接驳段，标准配置"),
        "walk": Standard(4, "km/h", "walking 3-5 km/h, standards profile",
                         source_zh="步行3-5千米/小时，标准配置"),
    }
)

#: Organisational minimums.
MINIMUMS: Mapping[str, Standard] = _freeze(
    {
        "township_office_fulltime_staff": Standard(3, "persons", "烈山区 2025 方案",
                                                   source_zh="烈山区2025年方案"),
        "township_station_posts": Standard(6, "posts", "泉州 2025 方案",
                                           source_zh="泉州2025年方案"),
        "township_station_fulltime_posts": Standard(2, "posts", "泉州 2025 方案",
                                                    source_zh="泉州2025年方案"),
        "township_rescue_team_headcount": Standard(30, "persons", "烈山区 2025 方案",
                                                   source_zh="烈山区2025年方案"),
        "village_centre_staff": Standard(2, "persons", "烈山区 2025 方案 (A/B posts)",
                                         source_zh="烈山区2025年方案（AB岗）"),
        "village_team_headcount": Standard(15, "persons", "烈山区 2025 方案",
                                           source_zh="烈山区2025年方案"),
        "micro_fire_stations_per_community": Standard(1, "stations", "烈山区 2025 方案",
                                                      source_zh="烈山区2025年方案"),
        "micro_fire_station_headcount": Standard(
            6, "persons", "community micro fire station standard (2015): 1 chief + >= 5",
            source_zh="社区微型消防站建设标准（2015）：站长1人、队员不少于5人"),
        "township_supply_stores": Standard(1, "stores", "烈山区 2025 方案",
                                           source_zh="烈山区2025年方案"),
        "township_fire_brigade_population": Standard(
            50000, "persons", "GB/T 35547-2017 as implemented locally",
            source_zh="GB/T 35547-2017（按地方实施口径）"),
        "forest_fire_team_headcount": Standard(20, "persons", "municipal forest-fire documents",
                                               source_zh="市级森林防灭火文件"),
        "rescue_team_drills_per_year": Standard(2, "drills", "烈山区 2025 方案 (1 per half year)",
                                                source_zh="烈山区2025年方案（每半年1次）"),
        "village_drills_per_year": Standard(2, "drills", "烈山区 2025 方案",
                                            source_zh="烈山区2025年方案"),
        # the eight haves (a yes/no each; the platform also counts its satellite phones)
        "station_office": Standard(1, "yes/no", f"{_EIGHT}: an office carrying emergency duties",
                                   source_zh=f"{_EIGHT_ZH}：有承担应急职责的办公场所"),
        "station_command_platform": Standard(
            1, "yes/no", f"{_EIGHT}: a 24-hour command and communications platform (satellite "
            "phone, two-way video conference, emergency broadcast)",
            source_zh=f"{_EIGHT_ZH}：有24小时指挥通信平台（卫星电话、双向视频会商、应急广播）"),
        "station_satellite_phones": Standard(1, "phones", f"{_EIGHT}: at least one satellite phone",
                                             source_zh=f"{_EIGHT_ZH}：至少1部卫星电话"),
        "station_duty_system": Standard(1, "yes/no", f"{_EIGHT}: a standard working mechanism "
                                        "('four in one' duty system)",
                                        source_zh=f"{_EIGHT_ZH}：有规范的工作机制（“四位一体”值班）"),
        "station_enforcement_team": Standard(1, "yes/no", f"{_EIGHT}: an enforcement team",
                                             source_zh=f"{_EIGHT_ZH}：有执法队伍"),
        "station_rescue_team": Standard(1, "yes/no", f"{_EIGHT}: a standing, trained "
                                        "comprehensive rescue team",
                                        source_zh=f"{_EIGHT_ZH}：有常备、经训练的综合救援队伍"),
        "station_emergency_plan": Standard(1, "yes/no", f"{_EIGHT}: a plan and response system",
                                           source_zh=f"{_EIGHT_ZH}：有预案和响应体系"),
        "station_materials_warehouse": Standard(
            1, "yes/no", f"{_EIGHT}: a managed comprehensive materials warehouse",
            source_zh=f"{_EIGHT_ZH}：有规范管理的综合物资仓库"),
        "station_warning_site": Standard(1, "yes/no", f"{_EIGHT}: a safety warning and education "
                                         "site", source_zh=f"{_EIGHT_ZH}：有安全警示教育场所"),
        # grid members: the text asks for "at least N per village" and leaves N blank
        "grid_members_per_village": Standard(
            1, "persons", f"{_P}: the text asks for at least N grid members per village, N left "
            "blank", proposal=True, source_zh="规划假设：文件要求每村“不少于N名”网格员，未给出N"),
        "households_per_grid_member": Standard(
            300, "households", f"{_P}: one grid member per 300 households (common practice "
            "300-500)", proposal=True,
            source_zh="规划假设：每300户配1名网格员（常见做法300-500户）"),
        "drill_interval_months": Standard(6, "months", "烈山区 2025 方案: a drill every half year",
                                          source_zh="烈山区2025年方案：每半年开展一次演练"),
    }
)

#: Warning reach (村村响 broadcast, early warning to every household): how far a warning point
#: is heard, and the share of a village's people it must reach. No text gives a figure: all
#: are planning assumptions.
WARNING: Mapping[str, Standard] = _freeze(
    {
        "loudspeaker_radius_m": Standard(
            300, "m", f"{_P}: a village loudspeaker (村村响) is heard to about 300 m outdoors",
            proposal=True, source_zh="规划假设：村村响大喇叭室外可闻约300米"),
        "siren_radius_m": Standard(
            1000, "m", f"{_P}: an electric siren is heard to about 1 km", proposal=True,
            source_zh="规划假设：电声警报器可闻约1千米"),
        "warning_point_radius_m": Standard(
            150, "m", f"{_P}: a warning point (notice board, hand siren) reaches about 150 m",
            proposal=True, source_zh="规划假设：预警信息发布点（公告栏、手摇报警器）覆盖约150米"),
        "min_share": Standard(
            0.95, "share of population", f"{_P}: early warning to every household (村村响), "
            "read as 95% of a village's people within reach", proposal=True,
            source_zh="规划假设：预警到户（村村响），按村内95%人口在覆盖范围内计"),
        "village_disc_m": Standard(
            300, "m", f"{_P}: without a buildings layer a village's people are spread evenly "
            "over a disc of this radius around its point", proposal=True,
            source_zh="规划假设：无建筑图层时，村人口均匀分布在以村点为中心、此半径的圆内"),
        "building_village_max_m": Standard(
            1500, "m", f"{_P}: a building belongs to the nearest village point within this "
            "distance", proposal=True, source_zh="规划假设：建筑归属此距离内最近的村点"),
    }
)

#: Social and enterprise forces (地企联动, requisitioned equipment, social rescue teams): how
#: much they are counted on. Planning assumptions.
SOCIAL: Mapping[str, Standard] = _freeze(
    {
        "availability": Standard(
            0.8, "share", f"{_P}: a social force answers 4 calls in 5 (a unit's own "
            "availability wins)", proposal=True,
            source_zh="规划假设：社会力量5次呼叫中响应4次（以单位自身数据为准）"),
        "min_availability": Standard(
            0.5, "share", f"{_P}: a social force answering less often than this is no backup",
            proposal=True, source_zh="规划假设：响应率低于此值的社会力量不计为补充力量"),
        "mobilisation_min": Standard(
            15, "min", f"{_P}: extra minutes to call up a social force (a unit's own "
            "mobilisation_min wins)", proposal=True,
            source_zh="规划假设：调集社会力量的额外时间（以单位自身数据为准）"),
    }
)

#: How sure the minutes are (:mod:`emgis.analysis.uncertainty`): the ranges speeds and turnout
#: are drawn from when no dispatch records calibrate them, how many samples, and when a village
#: covered at nominal speeds is fragile. Planning assumptions.
UNCERTAINTY: Mapping[str, Standard] = _freeze(
    {
        "speed_sd": Standard(
            0.15, "log sd", f"{_P}: each road class's emergency speed is the class speed times "
            "a factor drawn lognormal with median 1 and this sd of its logarithm (about 70% of "
            "draws within ±15%): the class speeds are JTG B01-2014 design speeds x ~0.7, an "
            "estimate to calibrate locally", proposal=True,
            source_zh="规划假设：各道路等级的应急车速为等级速度乘以对数正态系数（中位数1，"
            "对数标准差取此值，约70%的抽样在±15%以内）；等级速度为JTG B01-2014设计速度×约0.7，"
            "属估计值，宜本地校准"),
        "turnout_share": Standard(
            0.5, "share", f"{_P}: each kind's turnout drawn uniformly within ±50% of its value "
            "(the standards give 1-2 min for full-time and 3-5 min for volunteer teams)",
            proposal=True,
            source_zh="规划假设：各类队伍出动准备时间在其数值±50%内均匀抽样（专职队伍1-2分钟、"
            "志愿队伍3-5分钟）"),
        "samples": Standard(
            100, "samples", f"{_P}: draws of speeds and turnout; the probabilities move by "
            "less than about 0.05 beyond it (emgis's convergence test)", proposal=True,
            source_zh="规划假设：车速和出动时间的抽样次数；超过此数后概率变化约小于0.05"),
        "fragile_below": Standard(
            0.8, "probability", f"{_P}: a village within target at nominal speeds but within "
            "it in fewer than 80% of the draws is fragile (after NFPA 1720, which sets rural "
            "response at the 80th percentile)", proposal=True,
            source_zh="规划假设：按标称车速在目标内、但在目标内的抽样少于80%的村为“脆弱”"
            "（参照NFPA 1720农村响应按80%分位考核）"),
        "siting_samples": Standard(
            20, "samples", f"{_P}: the draws siting for expected cover chooses over (each "
            "needs every candidate's times)", proposal=True,
            source_zh="规划假设：按期望覆盖选址时使用的抽样数（每个抽样需计算全部候选点时间）"),
    }
)

#: Team availability by period (day, night, flood season) and the chance that a unit is free
#: (:mod:`emgis.analysis.availability`): the defaults per kind where a team carries no
#: ``availability_day`` / ``_night`` / ``_flood`` (or ``availability``) of its own, the share of
#: the time a unit is out on another call, and the reliability a village's cover must reach.
#: Kinds and periods not named here: available (1). ReVelle & Hogan (1989), "The maximum
#: availability location problem", Transportation Science 23(3): 192-200: with k units within
#: the target, each busy a share q of the time, at least one is free with probability
#: 1 - q^k; a village is covered with reliability alpha when 1 - q^k >= alpha.
AVAILABILITY: Mapping[str, Standard] = _freeze(
    {
        "village_team_day": Standard(
            0.6, "share", f"{_P}: a part-time village team's members work in the fields or "
            "away (外出务工) by day: 3 in 5 can answer", proposal=True,
            source_zh="规划假设：村级兼职应急队队员白天务农或外出务工，5人中约3人可响应"),
        "village_team_night": Standard(
            0.9, "share", f"{_P}: at night the members are at home", proposal=True,
            source_zh="规划假设：夜间队员在家"),
        "village_team_flood": Standard(
            0.7, "share", f"{_P}: in the flood season dike patrols and transfers take part of "
            "the team", proposal=True,
            source_zh="规划假设：汛期巡堤、转移群众占用部分队员"),
        "micro_fire_station_night": Standard(
            0.5, "share", "community micro fire station standard (2015): >= 3 of its >= 6 "
            "members on each shift", source_zh="社区微型消防站建设标准（2015）：每班不少于3人"
            "（共不少于6人）"),
        "busy_share": Standard(
            0.05, "share", f"{_P}: a unit is out on another call about 5% of the time (a few "
            "calls a day of about an hour in a rural county); ReVelle & Hogan 1989's busy "
            "fraction q", proposal=True,
            source_zh="规划假设：队伍约5%的时间在处置其他警情（农村县每天数起、每起约1小时）；"
            "即雷韦尔与霍根（1989）模型中的繁忙率"),
        "reliability": Standard(
            0.9, "probability", "ReVelle & Hogan 1989 (maximum availability location): a "
            "village is covered with reliability alpha when at least one unit within target "
            "is free with probability 1 - q^k >= alpha; 0.9 after NFPA 1710's 90th percentile",
            source_zh="雷韦尔与霍根（1989）最大可用性选址模型：目标时间内至少一支队伍空闲的"
            "概率不低于此可靠度即为可靠覆盖；取0.9，参照NFPA 1710的90%分位"),
    }
)

#: Periods of team availability, and the teams layer's field of each.
PERIODS: tuple[str, ...] = ("day", "night", "flood")

#: Data quality of the roads (:mod:`emgis.analysis.quality`): when a township's road data is too
#: thin to trust its minutes. OSM is thin in rural China (OSMChina's completeness index for
#: 烈山区 is 41/100) and a bureau's own road data has gaps. Planning assumptions.
QUALITY: Mapping[str, Standard] = _freeze(
    {
        "far_m": Standard(
            500, "m", f"{_P}: half of [network] max_access_m (1000 m); 500 m of access leg at "
            "the off-road speed (5 km/h) is 6 min, twice a micro fire station's 3-min target, "
            "so where a village is this far from every mapped road its minutes measure a "
            "missing road", proposal=True,
            source_zh="规划假设：“无道路可达”判定距离（1000米）的一半；500米接驳段按越野速度"
            "（5千米/小时）需6分钟，是微型消防站3分钟目标的两倍，村庄离所有已知道路这么远时，"
            "其时间反映的是缺失的道路"),
        "thin_far_share": Standard(
            0.5, "share", f"{_P}: a township where more than half of the villages lie farther "
            "than far_m from every road is thinly mapped (具备条件的建制村通硬化路: a hardened "
            "road reaches every administrative village where conditions allow; 交通运输部 2023 "
            "statistical bulletin: 4.6 million km of rural road)",
            proposal=True,
            source_zh="规划假设：超过一半的村远离所有道路（超过上述距离）的乡镇视为道路数据稀薄"
            "（具备条件的建制村已通硬化路；交通运输部2023年统计公报：农村公路459.86万千米）"),
        "min_road_km_per_km2": Standard(
            0.5, "km/km2", f"{_P}: below China's average road density (交通运输部 2023 "
            "statistical bulletin: 5.44 million km of public road, about 0.57 km per km², the "
            "nearly empty west included) a township's roads are missing from the data",
            proposal=True,
            source_zh="规划假设：低于全国平均公路密度（交通运输部2023年统计公报：公路总里程"
            "543.68万千米，约0.57千米/平方千米，含人烟稀少的西部）即视为道路数据缺失"),
    }
)


#: Shelter space norms.
SHELTER: Mapping[str, Standard] = _freeze(
    {
        "emergency_m2_per_person": Standard(1, "m2/person", "GB 50413-2007 8.2.8-8.2.9",
                                            source_zh="GB 50413-2007 第8.2.8-8.2.9条"),
        "fixed_m2_per_person": Standard(2, "m2/person", "GB 50413-2007 8.2.8-8.2.9",
                                        source_zh="GB 50413-2007 第8.2.8-8.2.9条"),
        "fixed_capacity_share": Standard(
            0.15, "share of population", "planning norm, clause 4.2.2 (some provinces 20-30%)",
            source_zh="规划规范第4.2.2条（部分省份20-30%）"),
    }
)

_QZ = "泉州 2025 方案"

#: What new sites cost, yuan: per kind the build cost (key: the kind) and, where a figure is
#: given, the yearly running cost (key: ``KIND_yearly``); ``reuse_factor`` is the share of the
#: build cost a candidate pays when it reuses an existing public building (利旧: a shelter,
#: stockpile or team base). Only the township station has a figure from a policy text; the rest
#: are planning assumptions to replace with local prices (``[costs]`` in ``district.toml``, or
#: a ``cost`` per candidate in ``[layers.candidates]``). Kinds without a build cost here
#: (fire stations, medical points ...) can be sited within a budget once the district gives one.
COSTS: Mapping[str, Standard] = _freeze(
    {
        "township_rescue_team": Standard(
            300_000, "yuan", f"{_QZ}: about 300,000 yuan per standardised township station "
            "(乡镇应急管理站), whose 'eight haves' include the standing rescue team",
            source_zh="泉州2025年方案：每个规范化乡镇应急管理站约30万元（“八有”含常备救援队伍）"),
        "micro_fire_station": Standard(
            100_000, "yuan", f"{_P}: the equipment of the 2015 micro fire station standard "
            "(protective gear, extinguishers, hoses, radios, a light vehicle) and the fit-out "
            "of a room; replace with the local tender price", proposal=True,
            source_zh="规划假设：按2015年微型消防站建设标准配置器材（防护装备、灭火器、水带、"
            "对讲机、轻便消防车）并装修一间用房；请以当地招标价替换"),
        "micro_fire_station_yearly": Standard(
            20_000, "yuan/year", f"{_P}: upkeep and replacement of equipment, insurance and "
            "duty subsidies of its 6 members", proposal=True,
            source_zh="规划假设：器材维护更新、保险及6名队员的值守补贴"),
        "village_team": Standard(
            50_000, "yuan", f"{_P}: equipment of a 15-person part-time village team "
            "(protective gear, pumps, lights, radios, first aid)", proposal=True,
            source_zh="规划假设：15人兼职村应急队的装备（防护装备、水泵、照明、对讲机、急救包）"),
        "village_team_yearly": Standard(
            10_000, "yuan/year", f"{_P}: insurance, training and upkeep of the team's "
            "equipment", proposal=True, source_zh="规划假设：队员保险、培训和装备维护"),
        "stockpile": Standard(
            200_000, "yuan", f"{_P}: a township store (乡镇储备库) in an existing room: "
            "shelving, fit-out and a first stock", proposal=True,
            source_zh="规划假设：利用现有用房建设乡镇物资储备库：货架、装修和首批物资"),
        "stockpile_yearly": Standard(
            20_000, "yuan/year", f"{_P}: rotating expiring stock and upkeep of the store",
            proposal=True, source_zh="规划假设：临期物资轮换和库房维护"),
        "shelter_emergency": Standard(
            50_000, "yuan", f"{_P}: signs, lighting, water and toilets on an existing open "
            "space (GB 21734 basic facilities)", proposal=True,
            source_zh="规划假设：在现有空地设置标识、照明、供水和厕所（GB 21734 基本设施）"),
        "reuse_factor": Standard(
            0.3, "share", f"{_P}: {_QZ} asks to reuse existing buildings (利旧); a candidate "
            "that is already a shelter, stockpile or team base needs fit-out and equipment, "
            "not a building: this share of the kind's build cost", proposal=True,
            source_zh=f"规划假设：{_QZ}要求利旧；已是避难场所、储备点或队伍驻地的候选点只需"
            "装修和配备器材、无需新建：按该类别建设费用的此比例计"),
    }
)

#: Candidate sources whose candidate reuses an existing public building (利旧).
REUSE_SOURCES = ("shelters", "stockpiles", "teams")


#: Every kind a siting run can be asked for (``emgis site --kind``), with the names the input
#: files accept for it.
SITING_KIND_ALIASES: Mapping[str, str] = MappingProxyType({
    **KIND_ALIASES["teams"],
    "stockpile": "stockpile", "物资储备点": "stockpile", "储备点": "stockpile",
    "物资储备库": "stockpile", "物资库": "stockpile",
    "shelter_emergency": "shelter_emergency", "紧急避难场所": "shelter_emergency",
    "shelter_fixed": "shelter_fixed", "固定避难场所": "shelter_fixed",
})
