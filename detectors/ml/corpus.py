"""The bundled training corpus: documents generated from templates and vocabularies.

No text here was downloaded. Each :class:`Template` is a document skeleton
written for LeakWarden (a heading, fixed lines, and pools of sentences of
which a random subset is drawn in random order), its slots filled from
:mod:`detectors.ml.corpus_vocab`. Kinds:

- sensitive: internal notices, HR records, staff appraisals, budgets, draft
  contracts, meeting minutes, project plans, unmarked internal memos;
- public: news, laws and regulations (including rules *about* secrecy, the
  hard case), public notices (including job adverts that mention pay),
  product manuals, tutorials (including how to write a contract).

Chinese and English. Evaluation holds out whole templates
(``group`` = template id), so a score measures generalisation to document
layouts and wordings the model has never seen, not memory of one template.

``python -m detectors.ml.corpus DIR`` writes the corpus as ``DIR/sensitive``
and ``DIR/public`` (the layout ``leakwarden train --data DIR`` reads).
"""

from __future__ import annotations

import argparse
import random
import re
from dataclasses import dataclass
from pathlib import Path

from detectors.ml.corpus_vocab import SLOTS

SENSITIVE = "sensitive"
PUBLIC = "public"


@dataclass(frozen=True)
class Pick:
    """Draw ``lo``..``hi`` items of ``items`` in random order, joined by ``sep``."""

    lo: int
    hi: int
    items: tuple[str, ...]
    sep: str = "\n"


@dataclass(frozen=True)
class Rows:
    """Repeat one line ``lo``..``hi`` times (tables: rosters, budget lines)."""

    lo: int
    hi: int
    row: str


Block = str | Pick | Rows


@dataclass(frozen=True)
class Template:
    id: str
    label: str
    kind: str
    lang: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Doc:
    text: str
    label: str
    group: str  # template id: the unit held out in evaluation
    kind: str
    lang: str


_SLOT = re.compile(r"\{(\w+)\}")


def _fill(s: str, lang: str, r: random.Random) -> str:
    slots = SLOTS[lang]
    return _SLOT.sub(lambda m: slots[m.group(1)](r), s)


def render(t: Template, r: random.Random) -> str:
    out: list[str] = []
    for b in t.blocks:
        if isinstance(b, str):
            out.append(_fill(b, t.lang, r))
        elif isinstance(b, Pick):
            k = r.randint(b.lo, min(b.hi, len(b.items)))
            out.append(b.sep.join(_fill(s, t.lang, r) for s in r.sample(b.items, k)))
        else:
            out.append("\n".join(_fill(b.row, t.lang, r) for _ in range(r.randint(b.lo, b.hi))))
    return "\n".join(out) + "\n"


def T(id: str, label: str, kind: str, lang: str, *blocks: Block) -> Template:
    return Template(id, label, kind, lang, blocks)


def P(lo: int, hi: int, *items: str, sep: str = "\n") -> Pick:
    return Pick(lo, hi, items, sep)


S, U = SENSITIVE, PUBLIC

TEMPLATES: tuple[Template, ...] = (
    # ---------------------------------------------------------------- sensitive, Chinese
    T("zh-notice-1", S, "internal_notice", "zh",
      "关于{topic}工作安排的内部通知", "各部门、各分公司：",
      P(3, 6, "经公司管理层研究决定，自{date}起调整{dept}的工作流程，请各部门负责人组织本部门员工认真学习。",
        "本通知仅限公司内部传达，请勿转发至外部人员或微信群。",
        "各部门须于{date}前将落实情况报送{dept}，联系人{name}，电话{phone}。",
        "近期部分员工将内部资料上传至个人网盘，现予以通报批评，相关责任人扣发当月绩效奖金。",
        "{project}项目相关材料未经批准不得对外提供，违者按公司员工手册第{num}条处理。",
        "本次调整涉及{num}名员工的岗位变动，具体名单由人力资源部另行通知本人。",
        "请各部门严格控制差旅费用，本季度费用预算较上年同期压缩{pct}。"),
      "{company}办公室", "{date}"),
    T("zh-notice-2", S, "internal_notice", "zh",
      "{company}", "内部通报（{ref}）",
      P(3, 5, "{dept}{name}同志在{project}项目中擅自向供应商透露公司报价，给公司造成损失约{money}。",
        "经调查核实，决定给予{name}记过处分，并调离现岗位。",
        "请全体员工引以为戒，严格遵守公司信息管理规定，未公开的经营数据一律不得外传。",
        "公司将于下月开展内部信息安全专项检查，重点检查客户资料和合同文本的存放情况。",
        "本通报发至各部门经理，由经理向本部门员工口头传达，不张贴、不外发。",
        "如发现类似情况，请直接向审计部{name}反映，公司将为举报人保密。"),
      "总经理办公室 {date}"),
    T("zh-hr-1", S, "hr_record", "zh",
      "员工信息登记表", "部门：{dept}    填表日期：{date}",
      Rows(4, 12, "{name}，工号{emp}，身份证号{idno}，手机{phone}，岗位{title}，入职日期{date}，月薪{money}"),
      P(1, 3, "备注：以上信息仅供人力资源部办理社保和薪资使用。", "试用期员工转正审批待{name}签字。",
        "离职人员的档案转出请在{date}前完成。")),
    T("zh-hr-2", S, "hr_record", "zh",
      "{year}年度薪酬调整方案（人力资源部）",
      P(3, 6, "本次调薪覆盖{num}名员工，平均调薪幅度{pct}，总人工成本增加{money}。",
        "技术序列骨干员工{name}等{num}人调薪幅度不低于{pct}，以降低核心人才流失风险。",
        "绩效等级为C及以下的员工原则上不参与本次调薪。",
        "管理层年薪及股权激励方案另行报董事会薪酬委员会审议。",
        "{dept}共有{num}人存在薪酬倒挂问题，建议分两年逐步解决。",
        "调薪结果请于{date}前单独通知员工本人，不得公开讨论个人薪酬。"),
      Rows(3, 8, "{name}  {title}  现月薪{money}  调整后{money}  绩效{score}分")),
    T("zh-appraisal-1", S, "appraisal", "zh",
      "员工年度绩效考核表", "被考核人：{name}    部门：{dept}    岗位：{title}    考核人：{name}",
      P(3, 6, "工作业绩：全年完成{project}项目交付{num}项，关键指标达成率{pct}，得分{score}。",
        "工作态度：责任心较强，但与同事沟通方式欠妥，曾多次与{name}发生争执。",
        "能力评价：专业能力突出，管理能力有待提高，不建议本年度晋升。",
        "考核结果：B+，年终奖系数1.{num}。",
        "改进计划：下半年参加{topic}培训，由直属上级{name}每月面谈一次。",
        "本人意见：对考核结果有异议，申请复核。"),
      "考核日期：{date}"),
    T("zh-appraisal-2", S, "appraisal", "zh",
      "{dept}干部述职测评汇总",
      Rows(3, 8, "{name}（{title}）：民主测评优秀率{pct}，综合得分{score}，评价意见：{name}认为其决策果断但团队氛围一般。"),
      P(1, 3, "测评结果将作为干部任免和年度考核的重要依据，请勿对外泄露个人测评得分。",
        "对测评得分排名末位的{num}名干部，由人力资源部进行诫勉谈话。",
        "汇总人：{name}，{date}")),
    T("zh-budget-1", S, "budget", "zh",
      "{year}年度部门预算编制表（{dept}）",
      Rows(5, 12, "预算科目：{topic}  上年实际{money}  本年预算{money}  增减{pct}"),
      P(2, 4, "说明：预算总额控制在{money}以内，超支部分须报财务总监审批。",
        "人员费用按编制{num}人测算，不含年终奖。", "本表数据为内部管理口径，与对外披露数据存在差异。",
        "请于{date}前提交财务部{name}汇总。")),
    T("zh-budget-2", S, "budget", "zh",
      "关于{project}项目资金使用情况的报告",
      P(3, 6, "截至{date}，项目累计支出{money}，占批复预算的{pct}。",
        "其中设备采购支出{money}，外包服务支出{money}，差旅及会议支出{money}。",
        "由于汇率波动，进口设备成本超出预算{money}，建议从不可预见费中调剂。",
        "下一阶段资金缺口约{money}，拟申请追加预算。", "本报告所列成本数据未经审计，仅供管理层决策参考。",
        "财务负责人：{name}；项目负责人：{name}。")),
    T("zh-contract-1", S, "contract", "zh",
      "技术服务合同（草稿 第{num}版）", "甲方：{company}", "乙方：{company}",
      P(4, 7, "第一条 乙方为甲方提供{project}系统的开发与运维服务，服务期限自{date}至{date}。",
        "第二条 合同总价款为人民币{money}，分三期支付，首期支付{pct}。",
        "第三条 乙方应对在履行本合同过程中知悉的甲方客户数据及技术资料承担保密义务。",
        "第四条 任何一方违约，应向守约方支付合同总额{pct}的违约金。",
        "第五条 甲方联系人{name}，电话{phone}；乙方联系人{name}，邮箱{email}。",
        "第六条 本合同价格条款为双方商业秘密，未经对方同意不得向第三方披露。",
        "第七条 争议由甲方所在地{city}人民法院管辖。"),
      "（以下无正文，待法务部{name}审核）"),
    T("zh-contract-2", S, "contract", "zh",
      "采购框架协议谈判要点（内部讨论稿）",
      P(3, 6, "供应商{company}首轮报价{money}，我方目标价为{money}，底线价格不高于{money}。",
        "对方要求预付款比例{pct}，建议坚持不超过{pct}。", "若对方不接受账期九十天，可适当让步至六十天。",
        "竞争对手{company}的同类合同单价约为{money}，可作为谈判筹码。", "本要点仅供谈判小组成员掌握，谈判结束后收回。",
        "谈判组长：{name}，成员：{name}、{name}。")),
    T("zh-minutes-1", S, "minutes", "zh",
      "总经理办公会会议纪要", "时间：{date}  地点：{city}总部第{num}会议室  主持：{name}",
      "出席：{name}、{name}、{name}、{name}",
      P(3, 6, "会议听取了{dept}关于{project}项目进展的汇报，同意追加投资{money}。",
        "会议决定暂缓{city}分公司的扩张计划，相关人员由{dept}统筹安置。",
        "会议研究了{company}的收购事项，要求法务部在{date}前完成尽职调查。",
        "会议要求严格控制人员编制，本年度新增编制不超过{num}人。",
        "关于{name}的任免事项，会议同意提交董事会审议。", "会议内容不得对外透露，各参会人员须遵守保密承诺。"),
      "记录：{name}"),
    T("zh-minutes-2", S, "minutes", "zh",
      "{project}项目周例会纪要（第{num}期）",
      P(4, 7, "一、上周{dept}完成接口联调，遗留缺陷{num}个，由{name}负责在{date}前关闭。",
        "二、客户{company}对交付进度不满，{name}需在本周内与对方高层沟通。",
        "三、服务器采购延期，影响上线时间约两周，风险已上报。",
        "四、外包团队人员流动较大，建议更换供应商。", "五、测试环境账号由{name}统一分配，不得私自共享。",
        "六、下周重点：性能压测和安全评审。"),
      "参会人：{name}、{name}、{name}"),
    T("zh-plan-1", S, "project_plan", "zh",
      "{project}项目实施计划（未发布）",
      P(3, 6, "项目目标：在{date}前完成新一代{product}的研发并进入试产，预计首年销售额{money}。",
        "里程碑一：{date}完成方案评审；里程碑二：{date}完成样机；里程碑三：{date}量产。",
        "资源投入：研发人员{num}人，外协预算{money}。",
        "主要风险：核心芯片依赖单一供应商{company}，需提前备货。",
        "产品定价策略及上市时间在正式发布前不得对外透露。",
        "项目经理：{name}；技术负责人：{name}。")),
    T("zh-plan-2", S, "project_plan", "zh",
      "{year}年市场拓展计划（{dept}）",
      Rows(3, 7, "{city}：目标客户{num}家，计划签约额{money}，负责人{name}"),
      P(2, 4, "重点争取{company}等竞争对手的存量客户，报价可下浮{pct}。", "第{q}季度启动渠道返利政策调整。",
        "本计划涉及公司未公开的经营目标，请妥善保管。")),
    T("zh-memo-1", S, "memo", "zh",
      "致：{name}", "发自：{name}", "日期：{date}", "事由：{topic}",
      P(3, 5, "{name}总，关于上周提到的{company}合作一事，我这边初步沟通后对方报价偏高。",
        "我建议先不要告诉{dept}，等董事会定了再说。", "另外{name}的离职可能会带走部分客户，需要尽快安排交接。",
        "附件是我整理的客户清单和历史成交价格，请您过目后删除。",
        "下周二之前我们需要给对方一个答复，您看方便什么时候碰一下？")),
    T("zh-memo-2", S, "memo", "zh",
      "备忘", P(3, 6, "{date}与{company}的{name}电话沟通，对方透露其明年预算约{money}。",
        "我们的成本底价是{money}，报价不要低于这个数。", "{name}最近情绪不稳定，考虑调整其负责的客户。",
        "财务那边说第{q}季度利润可能不达标，需要提前准备说法。", "服务器管理员密码已更换，新密码线下交给{name}。",
        "此事暂不对外，只在我们几个人之间沟通。")),
    # ---------------------------------------------------------------- sensitive, English
    T("en-notice-1", S, "internal_notice", "en",
      "To all staff in {dept}", "Subject: changes to {topic} procedures",
      P(3, 6, "Effective {date}, all purchase requests above {money} require approval from {name}.",
        "Please do not forward this notice outside the company or post it on social media.",
        "The reorganisation affects {num} roles in {city}; affected employees will be informed individually.",
        "Access to the {project} share will be restricted to the core team from next Monday.",
        "Questions should be directed to {name} ({email}) rather than discussed in public channels.",
        "We expect to announce the outcome internally before the board meeting on {date}."),
      "{name}, {title}"),
    T("en-notice-2", S, "internal_notice", "en",
      "{company} - staff bulletin {ref}",
      P(3, 5, "Following the incident on {date}, a member of {dept} has been suspended pending investigation.",
        "Customer records were copied to a personal device; the matter has been referred to Legal.",
        "Managers must remind their teams that unpublished sales figures may not be shared with anyone outside.",
        "A mandatory refresher on information handling runs next week; attendance will be recorded.",
        "This bulletin is for employees only and must not be shared with contractors or clients.")),
    T("en-hr-1", S, "hr_record", "en",
      "Employee record update - {dept}",
      Rows(4, 10, "{name} | ID {emp} | {title} | start {date} | salary {money} | phone {phone} | {email}"),
      P(1, 2, "Sick leave balances were adjusted after the payroll audit.", "Bank details for new joiners are held by Payroll.")),
    T("en-hr-2", S, "hr_record", "en",
      "Compensation review {year}: proposal for {dept}",
      P(3, 6, "We propose an average increase of {pct}, raising total payroll cost by {money}.",
        "{name} ({title}) is a retention risk; recommend a one-off bonus of {money}.",
        "Employees rated 'needs improvement' are excluded from this round.",
        "Executive pay will be reviewed separately by the remuneration committee.",
        "Individual outcomes should be communicated one-to-one and not discussed openly.",
        "There are {num} cases of pay compression in the team that need correcting over two cycles."),
      Rows(3, 7, "{name}, {title}: current {money}, proposed {money}, rating {score}")),
    T("en-appraisal-1", S, "appraisal", "en",
      "Annual performance review", "Employee: {name}   Manager: {name}   Department: {dept}",
      P(3, 6, "Objectives: delivered {num} of the agreed milestones on {project}; overall score {score}.",
        "Strengths: strong technical judgement, trusted by the customer team.",
        "Development areas: tends to miss deadlines and has had conflicts with {name}.",
        "Rating: meets expectations. Not recommended for promotion this cycle.",
        "Performance improvement plan to be reviewed on {date} with HR present.",
        "Employee comments: disagrees with the rating and has requested a second review."),
      "Signed {date}"),
    T("en-appraisal-2", S, "appraisal", "en",
      "Talent calibration notes - {dept}",
      Rows(3, 8, "{name} ({title}): potential high, performance {score}, flight risk medium; manager says {name} is hard to work with."),
      P(1, 2, "Calibration outcomes are final and should not be shared with the individuals concerned.",
        "Bottom {num} performers will be discussed with HR business partners next week.")),
    T("en-budget-1", S, "budget", "en",
      "FY{year} budget submission - {dept}",
      Rows(5, 12, "Line item: {topic} | FY actual {money} | FY{year} budget {money} | change {pct}"),
      P(2, 4, "Headcount assumption: {num} FTE, excluding contractors.",
        "Figures are management numbers and differ from the published accounts.",
        "Any overspend above {money} needs CFO sign-off.", "Please return to {name} in Finance by {date}.")),
    T("en-budget-2", S, "budget", "en",
      "Cost overrun report: {project}",
      P(3, 6, "As of {date}, spend stands at {money}, which is {pct} of the approved budget.",
        "Hardware costs exceeded plan by {money} due to currency movements.",
        "We will need an additional {money} in Q{q} to finish the rollout.",
        "The numbers in this report are unaudited and for the steering committee only.",
        "Budget owner: {name}; finance partner: {name}.",
        "Savings of {money} are expected if the {city} office lease is not renewed.")),
    T("en-contract-1", S, "contract", "en",
      "DRAFT v{num} - Services Agreement", "between {company} (the Client) and {company} (the Supplier)",
      P(4, 7, "1. The Supplier will provide support for the {project} platform from {date} to {date}.",
        "2. The total fee is {money}, payable in three instalments, the first being {pct}.",
        "3. The Supplier shall keep all Client data and pricing confidential during and after the term.",
        "4. Liability is capped at {pct} of the annual fee except for breach of confidentiality.",
        "5. Notices to the Client go to {name} at {email}.",
        "6. Commercial terms in this draft are subject to change and are not to be shared with other bidders.",
        "7. Governing law: the courts of {city}."),
      "[Comments from {name}, Legal: check the indemnity clause]"),
    T("en-contract-2", S, "contract", "en",
      "Negotiation brief: renewal with {company}",
      P(3, 6, "Their opening offer was {money}; our walk-away price is {money}.",
        "Competitor {company} quoted {money} for similar scope, which we can use as leverage.",
        "Do not concede on payment terms shorter than 60 days.",
        "If pushed, we can accept a {pct} discount in exchange for a three-year term.",
        "This brief is for the negotiation team only and will be collected after the meeting.",
        "Lead negotiator: {name}; support: {name}.")),
    T("en-minutes-1", S, "minutes", "en",
      "Minutes of the executive committee, {date}", "Present: {name}, {name}, {name}, {name}",
      P(3, 6, "The committee approved further investment of {money} in {project}.",
        "Expansion in {city} is paused; staff there will be redeployed by {dept}.",
        "Legal to complete due diligence on {company} before {date}.",
        "Headcount growth is frozen at {num} for the rest of the year.",
        "The appointment of {name} as {title} will go to the board for approval.",
        "Discussions in this meeting are not to be repeated outside the committee."),
      "Minutes taken by {name}"),
    T("en-minutes-2", S, "minutes", "en",
      "{project} weekly sync - notes",
      P(4, 7, "- {num} defects still open after integration testing; {name} to close them by {date}.",
        "- {company} is unhappy with delivery dates; {name} to call their VP this week.",
        "- Server purchase delayed, go-live likely slips by two weeks.",
        "- Contractor churn is high; consider replacing the vendor.",
        "- Test environment credentials are managed by {name}; do not share them.",
        "- Next week: load testing and security review."),
      "Attendees: {name}, {name}, {name}"),
    T("en-plan-1", S, "project_plan", "en",
      "Project {project}: delivery plan (not for release)",
      P(3, 6, "Goal: launch the next-generation {product} by {date} with first-year revenue of {money}.",
        "Milestones: design review {date}, prototype {date}, volume production {date}.",
        "Resources: {num} engineers and an external budget of {money}.",
        "Key risk: single-source components from {company}.",
        "Pricing and launch timing must not be disclosed before the public announcement.",
        "Owner: {name}; technical lead: {name}.")),
    T("en-plan-2", S, "project_plan", "en",
      "{dept} growth plan FY{year}",
      Rows(3, 7, "{city}: target {num} new accounts, planned bookings {money}, owner {name}"),
      P(2, 4, "Target the installed base of {company}; discounts of up to {pct} are authorised.",
        "Channel incentive changes start in Q{q}.",
        "These targets are internal and not part of any guidance to investors.")),
    T("en-memo-1", S, "memo", "en",
      "To: {name}", "From: {name}", "Date: {date}", "Re: {topic}",
      P(3, 5, "Following up on the {company} discussion - their price came in higher than we hoped.",
        "I'd rather we didn't tell {dept} until the board has decided.",
        "{name} is leaving and may take some clients; we should plan the handover quietly.",
        "Attached is my list of key accounts with historical prices - please delete after reading.",
        "We owe them an answer by Tuesday; can we talk tomorrow?")),
    T("en-memo-2", S, "memo", "en",
      "notes to self", P(3, 6, "Call with {name} at {company} on {date}: their budget next year is about {money}.",
        "Our floor price is {money}; do not go below it.", "{name} seems unhappy; think about moving their accounts.",
        "Finance thinks Q{q} profit will miss; prepare talking points early.",
        "Admin password for the file server was changed; {name} has the new one.",
        "Keep this between the three of us for now.")),
    # ---------------------------------------------------------------- public, Chinese
    T("zh-news-1", U, "news", "zh",
      "{city}：{topic}取得新进展",
      P(3, 6, "记者{date}从{city}市政府新闻发布会获悉，今年以来全市{topic}工作稳步推进。",
        "据统计，前三季度全市地区生产总值同比增长{pct}，高于全国平均水平。",
        "{city}市{dept}负责人{name}表示，下一步将继续加大政策支持力度。",
        "市民{name}告诉记者，家门口新开的社区服务中心让办事更方便了。",
        "专家认为，{topic}需要政府、企业和社会共同参与。", "据悉，相关项目总投资约{money}，预计明年年底建成。"),
      "（记者 {name}）"),
    T("zh-news-2", U, "news", "zh",
      "{company}发布{year}年年度业绩",
      P(3, 6, "{company}{date}晚间发布公告称，公司全年实现营业收入{money}，同比增长{pct}。",
        "公司董事长{name}在业绩说明会上表示，明年将加大研发投入。",
        "分析人士指出，公司{product}业务增速放缓，但海外市场表现亮眼。",
        "公告显示，公司拟每10股派发现金红利{num}元。", "受此消息影响，公司股价当日上涨{pct}。",
        "公司同时披露，计划在{city}新建生产基地，总投资{money}。")),
    T("zh-news-3", U, "news", "zh",
      "全国保密宣传教育月活动启动",
      P(3, 5, "{date}，{city}举行保密宣传教育月启动仪式，{num}家单位参加。",
        "活动通过展览、讲座和知识竞赛等形式，普及保密法律法规知识。",
        "主办方介绍，近年来网络泄密案件呈上升趋势，提醒公众不要在网上传播涉密信息。",
        "市民{name}在参观后表示，对国家秘密的密级划分有了更清楚的认识。",
        "据了解，本次活动将持续一个月，覆盖机关、企业、学校和社区。")),
    T("zh-law-1", U, "law", "zh",
      "{city}市{topic}管理办法", "第一章 总则",
      P(4, 7, "第{art}条 为了规范{topic}工作，保障公民、法人和其他组织的合法权益，根据有关法律、法规，结合本市实际，制定本办法。",
        "第{art}条 本办法适用于本市行政区域内的{topic}及其监督管理活动。",
        "第{art}条 市人民政府{dept}负责本办法的组织实施。",
        "第{art}条 违反本办法规定的，由有关部门责令改正，可以处{money}以下罚款。",
        "第{art}条 任何单位和个人有权对违反本办法的行为进行举报。",
        "第{art}条 本办法自{date}起施行。"),
      ),
    T("zh-law-2", U, "law", "zh",
      "中华人民共和国保守国家秘密法（节选）",
      P(4, 7, "第{art}条 国家秘密是关系国家安全和利益，依照法定程序确定，在一定时间内只限一定范围的人员知悉的事项。",
        "第{art}条 国家秘密的密级分为绝密、机密、秘密三级。",
        "第{art}条 机关、单位应当实行保密工作责任制，健全保密管理制度，完善保密防护措施。",
        "第{art}条 任何危害国家秘密安全的行为，都必须受到法律追究。",
        "第{art}条 国家秘密的保密期限，除另有规定外，绝密级不超过三十年，机密级不超过二十年，秘密级不超过十年。",
        "第{art}条 机关、单位应当加强对涉密人员的保密宣传教育和保密技能培训。",
        "第{art}条 违反本法规定，泄露国家秘密的，依法给予处分；构成犯罪的，依法追究刑事责任。")),
    T("zh-law-3", U, "law", "zh",
      "劳动合同相关法律规定解读",
      P(3, 6, "根据《劳动合同法》第{art}条，用人单位自用工之日起即与劳动者建立劳动关系。",
        "用人单位应当按照劳动合同约定和国家规定，向劳动者及时足额支付劳动报酬。",
        "劳动者在试用期的工资不得低于本单位相同岗位最低档工资的百分之八十。",
        "用人单位与劳动者可以在劳动合同中约定保守用人单位的商业秘密和与知识产权相关的保密事项。",
        "用人单位违法解除劳动合同的，应当依照经济补偿标准的二倍向劳动者支付赔偿金。")),
    T("zh-public-notice-1", U, "public_notice", "zh",
      "{city}市{dept}公开招聘工作人员公告",
      P(3, 6, "根据工作需要，现面向社会公开招聘{title}{num}名，有关事项公告如下。",
        "报名时间：{date}至{date}，报名地点：{city}市人才服务中心。",
        "薪酬待遇：试用期月薪{money}，转正后按单位薪酬制度执行，缴纳五险一金。",
        "应聘人员须具有全日制本科及以上学历，年龄在三十五周岁以下。",
        "咨询电话：{phone}，联系人：{name}。", "本公告由{city}市{dept}负责解释。"),
      "{date}"),
    T("zh-public-notice-2", U, "public_notice", "zh",
      "停水通知",
      P(2, 4, "因{city}供水管网改造施工，定于{date}对部分区域暂停供水。",
        "停水时间预计为八小时，请广大居民提前做好储水准备。", "由此带来的不便，敬请谅解。",
        "如有疑问请拨打服务热线{phone}。"),
      "{company}", "{date}"),
    T("zh-public-notice-3", U, "public_notice", "zh",
      "政府采购中标结果公告", "项目名称：{city}市{topic}服务采购项目",
      P(3, 5, "中标供应商：{company}，中标金额：{money}。", "评审专家：{name}、{name}、{name}。",
        "公告期限为一个工作日，对结果有异议的，可在公告期满后七个工作日内提出质疑。",
        "采购人：{city}市{dept}，联系人{name}。", "采购代理机构：{company}。")),
    T("zh-manual-1", U, "manual", "zh",
      "{product}使用说明书",
      P(4, 7, "感谢您购买本公司{product}，使用前请仔细阅读本说明书并妥善保管。",
        "首次使用前，请将产品充电{num}小时以上。", "长按电源键三秒开机，指示灯亮起表示设备已启动。",
        "请勿将产品放置在高温、潮湿或有腐蚀性气体的环境中。",
        "如产品出现故障，请勿自行拆卸，应联系售后服务中心。", "本产品保修期为一年，人为损坏不在保修范围内。",
        "清洁时请先断开电源，用干燥软布擦拭。")),
    T("zh-manual-2", U, "manual", "zh",
      "办公系统操作指南（{topic}模块）",
      P(4, 6, "第一步：打开浏览器，输入系统地址，使用个人账号登录。", "第二步：在左侧菜单中选择相应模块，点击“新建”。",
        "第三步：填写表单中的必填项，带星号的字段不能为空。", "第四步：点击“提交”，系统将自动发送审批提醒。",
        "常见问题：如忘记密码，可点击登录页面的“找回密码”进行重置。", "提示：建议使用最新版本浏览器以获得最佳体验。")),
    T("zh-tutorial-1", U, "tutorial", "zh",
      "Python入门教程：第{num}课",
      P(4, 6, "本节课我们学习列表和字典的基本用法。", "列表是有序的集合，可以通过下标访问其中的元素。",
        "字典用于存储键值对，查找速度很快。", "下面的例子演示了如何遍历一个列表并计算元素之和。",
        "练习：编写一个函数，统计一段文字中每个汉字出现的次数。", "小结：熟练掌握这些数据结构是编程的基础。")),
    T("zh-tutorial-2", U, "tutorial", "zh",
      "如何起草一份规范的合同：写给创业者的指南",
      P(3, 6, "合同一般包括当事人信息、标的、数量、质量、价款、履行期限和违约责任等条款。",
        "在签订合同前，应当核实对方的主体资格和履约能力。", "保密条款可以约定双方对商业秘密的保护义务和期限。",
        "违约金的约定不宜过高，否则可能被法院调整。", "建议重要合同请专业律师审核。",
        "本文仅供参考，不构成法律意见。")),
    # ---------------------------------------------------------------- public, English
    T("en-news-1", U, "news", "en",
      "{city} council unveils plan for {topic}",
      P(3, 6, "The city of {city} announced on {date} a new programme focused on {topic}.",
        "According to official statistics, the local economy grew by {pct} over the past year.",
        "{name}, a spokesperson for the council, said the plan would be funded with {money} over five years.",
        "Residents interviewed by reporters welcomed the move but asked for more detail.",
        "Critics argue that similar schemes elsewhere have struggled to meet their targets.",
        "The council will hold a public consultation before the plan takes effect."),
      "Reporting by {name}"),
    T("en-news-2", U, "news", "en",
      "{company} reports {year} results",
      P(3, 6, "{company} said on {date} that annual revenue rose {pct} to {money}.",
        "Chief executive {name} told analysts that demand for its {product} remained strong.",
        "The company plans to open a new facility in {city}, creating {num} jobs.",
        "Shares rose {pct} in early trading after the announcement.",
        "The board proposed a final dividend and reaffirmed its outlook for the coming year.",
        "Analysts noted that margins were squeezed by higher input costs.")),
    T("en-news-3", U, "news", "en",
      "Former official sentenced for leaking classified documents",
      P(3, 5, "A court in {city} sentenced a former government employee on {date} for disclosing classified material.",
        "Prosecutors said the documents were marked secret and had been copied to a personal laptop.",
        "The case has renewed debate about how agencies protect confidential information.",
        "A spokesperson for the department said procedures had since been tightened.",
        "Experts say insider leaks remain one of the hardest threats to detect.")),
    T("en-law-1", U, "law", "en",
      "{topic} Regulations {year}", "Part 1 - General",
      P(4, 7, "Section {art}. These Regulations apply to every organisation operating in the jurisdiction.",
        "Section {art}. In these Regulations, 'personal data' means any information relating to an identified or identifiable natural person.",
        "Section {art}. A controller must keep records of processing activities and make them available to the regulator on request.",
        "Section {art}. A person who contravenes this section commits an offence and is liable to a fine not exceeding {money}.",
        "Section {art}. The Minister may by order amend the Schedule.",
        "Section {art}. These Regulations come into force on {date}.")),
    T("en-law-2", U, "law", "en",
      "Official Secrets and Classified Information Act (extract)",
      P(4, 7, "Section {art}. Information is classified as top secret, secret or confidential according to the damage its disclosure could cause.",
        "Section {art}. A person who, without lawful authority, discloses classified information commits an offence.",
        "Section {art}. Each agency shall designate an officer responsible for the protection of classified information.",
        "Section {art}. Classified documents shall bear a marking indicating their classification level.",
        "Section {art}. Classification shall be reviewed at least every ten years.",
        "Section {art}. Nothing in this Act prevents disclosure to a court in proceedings.")),
    T("en-law-3", U, "law", "en",
      "Employment rights: a summary of the statutory framework",
      P(3, 6, "Every employee is entitled to a written statement of the main terms of employment.",
        "Employers must pay at least the national minimum wage for all hours worked.",
        "Confidentiality clauses cannot prevent workers from reporting wrongdoing to a regulator.",
        "An employee with two years' service may claim unfair dismissal.",
        "Statutory redundancy pay depends on age, length of service and weekly pay.")),
    T("en-public-notice-1", U, "public_notice", "en",
      "Vacancy: {title}, {dept} ({city})",
      P(3, 6, "We are recruiting a {title} to join our {dept} team in {city}.",
        "Salary: {money} per year plus pension and 25 days' annual leave.",
        "Closing date for applications: {date}. Interviews will be held the following week.",
        "For an informal discussion please contact {name}.",
        "We welcome applications from all sections of the community.",
        "The full job description is available on our website.")),
    T("en-public-notice-2", U, "public_notice", "en",
      "Planned road closure",
      P(2, 4, "{city} Road will be closed between {date} and {date} for resurfacing works.",
        "Diversions will be signposted; bus routes {num} and {num} will be affected.",
        "We apologise for any inconvenience.", "For updates, call the highways helpline."),
      "{company}"),
    T("en-public-notice-3", U, "public_notice", "en",
      "Contract award notice", "Title: {topic} services for {city}",
      P(3, 5, "Awarded to: {company}. Contract value: {money}.", "Procedure: open tender; {num} bids received.",
        "Award criteria: most economically advantageous tender.", "Contracting authority: {city} {dept}.",
        "Review procedures: a standstill period of ten days applies.")),
    T("en-manual-1", U, "manual", "en",
      "{product} - user guide",
      P(4, 7, "Thank you for purchasing this {product}. Please read these instructions before first use.",
        "Charge the device for at least {num} hours before using it for the first time.",
        "Press and hold the power button for three seconds to switch on.",
        "Do not expose the product to high temperatures, moisture or corrosive gases.",
        "If the device malfunctions, do not open it; contact customer support.",
        "The warranty covers manufacturing defects for one year from purchase.",
        "Clean with a dry, soft cloth after disconnecting the power supply.")),
    T("en-manual-2", U, "manual", "en",
      "Getting started with the {topic} portal",
      P(4, 6, "Step 1: open your browser and sign in with your account.", "Step 2: choose the module from the menu on the left and click New.",
        "Step 3: complete the required fields, marked with an asterisk.", "Step 4: click Submit; approvers are notified automatically.",
        "Forgot your password? Use the reset link on the sign-in page.", "Tip: use an up-to-date browser for the best experience.")),
    T("en-tutorial-1", U, "tutorial", "en",
      "Learn Python, lesson {num}: lists and dictionaries",
      P(4, 6, "In this lesson we look at two of Python's most useful data structures.",
        "A list is an ordered collection; you access items by their index.",
        "A dictionary maps keys to values and lookups are fast.",
        "The example below loops over a list and adds up its elements.",
        "Exercise: write a function that counts how often each word appears in a text.",
        "Summary: these structures are the building blocks of most programs.")),
    T("en-tutorial-2", U, "tutorial", "en",
      "How to draft a simple contract: a guide for small businesses",
      P(3, 6, "A contract usually names the parties, describes the goods or services, and sets out price and payment terms.",
        "Check that the other party has the authority to sign.",
        "A confidentiality clause can protect trade secrets shared during the relationship.",
        "Keep penalty clauses proportionate, or a court may refuse to enforce them.",
        "For significant agreements, ask a solicitor to review the draft.",
        "This article is general information, not legal advice.")),
    # ---------------------------------------------------------------- more sensitive, both languages
    T("zh-customers-1", S, "customer_list", "zh",
      "重点客户清单（{dept}整理）",
      Rows(5, 12, "{company}  联系人{name}  手机{phone}  年采购额{money}  合同到期{date}  备注：对价格敏感"),
      P(1, 2, "该清单为公司核心经营资料，离职人员须交还。", "客户报价历史见共享盘，勿外传。")),
    T("zh-incident-1", S, "incident_report", "zh",
      "信息安全事件调查报告",
      P(3, 6, "{date}，{dept}员工{name}的办公电脑感染勒索病毒，约{num}份文件被加密。",
        "初步判断攻击者通过钓鱼邮件获取了账号{email}的登录凭据。",
        "受影响的系统包括财务系统和客户管理系统，暂未发现数据外泄证据。",
        "整改措施：全员重置密码，关闭外部远程桌面端口，{date}前完成补丁更新。",
        "本报告仅报送公司领导和信息安全委员会成员。", "事件处置负责人：{name}。")),
    T("en-customers-1", S, "customer_list", "en",
      "Key accounts export - {dept}",
      Rows(5, 12, "{company}; contact {name}; {email}; annual spend {money}; renewal {date}; note: price sensitive"),
      P(1, 2, "This list is company property and must be returned by leavers.", "Pricing history is on the team drive; do not share.")),
    T("en-incident-1", S, "incident_report", "en",
      "Security incident report {ref}",
      P(3, 6, "On {date} a laptop belonging to {name} in {dept} was infected with ransomware; {num} files were encrypted.",
        "The attacker probably obtained the credentials of {email} through a phishing e-mail.",
        "Finance and CRM systems were affected; no evidence of exfiltration so far.",
        "Actions: reset all passwords, close external RDP, patch by {date}.",
        "Distribution: executive team and security committee only.", "Incident lead: {name}.")),
    # ---------------------------------------------------------------- more public, Chinese
    T("zh-weather-1", U, "news", "zh",
      "{city}天气预报",
      P(3, 5, "{date}白天{city}多云转晴，最高气温{num}摄氏度，北风三到四级。", "夜间有小雨，请市民出行注意携带雨具。",
        "气象部门提醒，未来三天气温将明显下降，注意防寒保暖。", "空气质量良，适宜户外活动。",
        "周末有一次较强冷空气过程，局部地区可能出现霜冻。")),
    T("zh-sports-1", U, "news", "zh",
      "{city}队主场战胜对手 取得赛季第{num}场胜利",
      P(3, 5, "在{date}进行的联赛中，{city}队凭借下半场的两粒进球，以二比一战胜客队。",
        "主教练{name}赛后表示，球队的防守还需要加强。", "本场比赛现场观众超过{num}00人。",
        "队长{name}在第七十分钟打入制胜球。", "下一轮比赛{city}队将客场挑战积分榜领头羊。")),
    T("zh-encyclopedia-1", U, "encyclopedia", "zh",
      "{product}",
      P(3, 5, "{product}是一种常见的家用电器，最早出现于二十世纪。", "其工作原理是利用电能转换为机械能或热能。",
        "随着技术发展，{product}逐渐向智能化、节能化方向发展。", "全球主要生产国包括中国、德国、日本和美国。",
        "使用{product}时应注意用电安全，避免过载。")),
    T("zh-recipe-1", U, "tutorial", "zh",
      "家常菜做法：番茄炒蛋",
      P(4, 6, "准备鸡蛋{num}个、番茄两个、葱少许。", "鸡蛋打散，加少许盐搅拌均匀。", "锅中放油，油热后倒入蛋液，炒至凝固后盛出。",
        "番茄切块下锅翻炒，出汁后加入炒好的鸡蛋。", "最后加盐和少许糖调味，撒上葱花即可出锅。", "小贴士：番茄去皮口感更好。")),
    T("zh-govreport-1", U, "government_report", "zh",
      "{city}市{year}年政府工作报告（摘要）",
      P(4, 7, "过去一年，全市地区生产总值增长{pct}，一般公共预算收入{money}。", "城镇新增就业{num}万人，城镇调查失业率控制在预期目标以内。",
        "全年财政用于民生的支出占比超过七成。", "今年全市经济社会发展的主要预期目标是：地区生产总值增长{pct}左右。",
        "我们将坚持以人民为中心的发展思想，持续改善人民生活。", "深入推进{topic}，加快建设现代化产业体系。",
        "政府工作报告全文可在市政府门户网站查阅。")),
    T("zh-abstract-1", U, "academic", "zh",
      "基于深度学习的{topic}研究",
      P(3, 5, "摘要：本文提出了一种基于深度学习的{topic}方法。", "实验结果表明，该方法在公开数据集上的准确率达到{pct}。",
        "与传统方法相比，本文方法具有更好的鲁棒性。", "关键词：深度学习；{topic}；神经网络",
        "本研究得到国家自然科学基金资助。")),
    T("zh-travel-1", U, "travel", "zh",
      "{city}三日游攻略",
      P(3, 6, "第一天可以参观{city}博物馆，了解当地的历史文化。", "第二天推荐去老街品尝特色小吃。", "景区门票约{num}元，建议提前在网上预约。",
        "{city}地铁线路发达，出行十分方便。", "最佳旅游季节是春秋两季，气候宜人。", "住宿可以选择市中心的酒店，交通便利。")),
    T("zh-faq-1", U, "faq", "zh",
      "常见问题解答",
      P(4, 6, "问：如何办理会员卡？答：携带身份证到任意门店即可办理。", "问：退货需要多长时间？答：一般在七个工作日内完成退款。",
        "问：营业时间是什么？答：每天上午九点至晚上九点。", "问：可以开具发票吗？答：可以，请在结账时告知收银员。",
        "问：是否提供送货上门？答：市区范围内满一百元免费送货。", "问：会员积分如何使用？答：积分可在下次消费时抵扣现金。")),
    T("zh-press-1", U, "press_release", "zh",
      "{company}正式发布新一代{product}",
      P(3, 6, "{date}，{company}在{city}举行新品发布会，正式推出新一代{product}。", "新产品售价{money}起，即日起在各大电商平台开售。",
        "公司副总裁{name}介绍，新产品续航能力提升{pct}。", "发布会吸引了众多媒体和消费者到场。",
        "欲了解更多信息，请访问公司官方网站或关注官方微博。")),
    T("zh-school-1", U, "public_notice", "zh",
      "关于{year}年寒假放假安排的通知",
      P(3, 5, "根据市教育局校历安排，我校寒假时间为{date}至{date}。", "请各位家长做好学生假期安全教育。",
        "假期作业请按时完成，开学第一周进行检查。", "如有疑问，请联系班主任。", "祝全体师生假期愉快！"),
      "{city}市第{num}中学"),
    # ---------------------------------------------------------------- more public, English
    T("en-weather-1", U, "news", "en",
      "Weather forecast for {city}",
      P(3, 5, "Cloudy at first on {date}, brightening later with highs of {num} degrees.", "Rain is expected overnight; take an umbrella.",
        "Temperatures will fall noticeably over the next three days.", "Air quality is good and suitable for outdoor activities.",
        "A cold front arrives at the weekend with a risk of frost in rural areas.")),
    T("en-sports-1", U, "news", "en",
      "{city} seal their {num}th win of the season",
      P(3, 5, "Two second-half goals gave {city} a 2-1 home victory on {date}.", "Head coach {name} said the defence still needs work.",
        "More than {num} hundred fans attended the match.", "Captain {name} scored the winner in the 70th minute.",
        "Next up is a trip to the league leaders.")),
    T("en-encyclopedia-1", U, "encyclopedia", "en",
      "{product}",
      P(3, 5, "A {product} is a common household appliance first introduced in the twentieth century.",
        "It works by converting electrical energy into mechanical or thermal energy.",
        "Modern designs emphasise energy efficiency and connectivity.", "Major producers include China, Germany, Japan and the United States.",
        "Users should avoid overloading sockets when operating a {product}.")),
    T("en-recipe-1", U, "tutorial", "en",
      "Easy weeknight recipe: tomato and egg stir-fry",
      P(4, 6, "You will need {num} eggs, two tomatoes and a spring onion.", "Beat the eggs with a pinch of salt.",
        "Heat oil in a wok, pour in the eggs and scramble until just set, then set aside.",
        "Stir-fry the tomato wedges until juicy, then return the eggs.", "Season with salt and a little sugar and garnish with spring onion.",
        "Tip: peel the tomatoes for a smoother texture.")),
    T("en-govreport-1", U, "government_report", "en",
      "{city} annual report {year}: summary",
      P(4, 7, "The local economy grew by {pct} last year and public revenue reached {money}.", "{num} thousand new jobs were created.",
        "More than seventy percent of spending went to public services.", "This year the council targets growth of about {pct}.",
        "We will continue to put residents first and improve living standards.", "We will accelerate work on {topic}.",
        "The full report is available on the council website.")),
    T("en-abstract-1", U, "academic", "en",
      "A deep learning approach to {topic}",
      P(3, 5, "Abstract: we propose a deep learning method for {topic}.", "Experiments on public benchmarks show an accuracy of {pct}.",
        "Compared with traditional approaches, our method is more robust.", "Keywords: deep learning; {topic}; neural networks",
        "This work was supported by a national research grant.")),
    T("en-travel-1", U, "travel", "en",
      "Three days in {city}: a travel guide",
      P(3, 6, "Start day one at the {city} museum to get a feel for local history.", "On day two, wander the old town and try the street food.",
        "Tickets cost about {num} dollars; book online in advance.", "Public transport in {city} is excellent.",
        "Spring and autumn are the best times to visit.", "Stay downtown for easy access to the sights.")),
    T("en-faq-1", U, "faq", "en",
      "Frequently asked questions",
      P(4, 6, "Q: How do I get a loyalty card? A: Bring photo ID to any store.", "Q: How long do refunds take? A: Usually within seven working days.",
        "Q: What are your opening hours? A: 9am to 9pm every day.", "Q: Can I get a VAT invoice? A: Yes, ask at the checkout.",
        "Q: Do you deliver? A: Free delivery in the city on orders over 100.", "Q: How do I use my points? A: Redeem them against your next purchase.")),
    T("en-press-1", U, "press_release", "en",
      "{company} launches next-generation {product}",
      P(3, 6, "{city}, {date} - {company} today unveiled its next-generation {product}.", "Prices start at {money}, with availability from today.",
        "Vice president {name} said battery life has improved by {pct}.", "The launch event drew press and customers from across the region.",
        "For more information visit the company website.")),
    T("en-school-1", U, "public_notice", "en",
      "Winter holiday dates {year}",
      P(3, 5, "The school will close for the winter break from {date} to {date}.", "Parents are asked to remind children about staying safe over the holiday.",
        "Holiday homework will be checked in the first week of term.", "Any questions should be addressed to your child's form tutor.",
        "We wish all pupils and staff a restful break."),
      "{city} Community School"),
    # ---------------------------------------------------------------- public, number-dense (tables are not rosters)
    T("zh-stats-1", U, "statistics", "zh",
      "{city}市{year}年国民经济和社会发展统计公报（数据表）",
      Rows(6, 14, "指标{num}：{topic}  本年{money}  上年{money}  增长{pct}  编号{ref}"),
      P(1, 2, "注：本表数据为初步统计数，部分数据因四舍五入存在总计与分项合计不等的情况。", "数据来源：{city}市统计局。")),
    T("zh-timetable-1", U, "timetable", "zh",
      "{city}站列车时刻表（{date}起执行）",
      Rows(8, 16, "车次G{num}{num}  {city}—{city}  开车{q}{q}:{num}  到达{q}{q}:{num}  票价{money}  检票口{num}"),
      P(1, 2, "以上信息仅供参考，请以车站公告为准。", "旅客可拨打客服电话{phone}查询。")),
    T("en-stats-1", U, "statistics", "en",
      "League table and results - round {num}",
      Rows(8, 16, "{city} {num} played {num} won {num} drawn {num} lost  goal difference {num}  points {score}  ref {ref}"),
      P(1, 2, "Results are provisional until confirmed by the league.", "Source: official league statistics.")),
    T("en-catalogue-1", U, "catalogue", "en",
      "Product catalogue {year} - {product} range",
      Rows(8, 16, "SKU {emp}-{num}  {product}  model {ref}  list price {money}  stock code {phone}  warranty {num} months"),
      P(1, 2, "Prices include VAT and are subject to change without notice.", "Order details and delivery times on our website.")),

)


def generate(per_template: int = 24, seed: int = 20261129, templates: tuple[Template, ...] = TEMPLATES) -> list[Doc]:
    """``per_template`` documents from each template, deterministic for a seed."""
    r = random.Random(seed)
    return [Doc(render(t, r), t.label, t.id, t.kind, t.lang) for t in templates for _ in range(per_template)]


def write(directory: Path, docs: list[Doc]) -> None:
    """Write documents in the ``DIR/sensitive``, ``DIR/public`` layout (group in the name)."""
    counters: dict[str, int] = {}
    for d in docs:
        folder = directory / d.label
        folder.mkdir(parents=True, exist_ok=True)
        n = counters[d.group] = counters.get(d.group, 0) + 1
        (folder / f"{d.group}__{n:04d}.txt").write_text(d.text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write the bundled LeakWarden training corpus to a folder.")
    ap.add_argument("directory", type=Path)
    ap.add_argument("--per-template", type=int, default=24)
    ap.add_argument("--seed", type=int, default=20261129)
    args = ap.parse_args(argv)
    docs = generate(args.per_template, args.seed)
    write(args.directory, docs)
    print(f"wrote {len(docs)} documents from {len(TEMPLATES)} templates to {args.directory}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
