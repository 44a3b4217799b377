"""Vocabularies that fill the slots of the corpus templates (:mod:`detectors.ml.corpus`).

Everything here was written for LeakWarden; names, companies and figures are
invented. Slots are shared by sensitive and public templates on purpose: a
person's name or a sum of money must not by itself make a text sensitive.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable

ZH_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
ZH_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞鑫宇浩然欣怡子涵梓轩雨晨思远一鸣佳琪晓东建国志强海燕春梅文博"
EN_FIRST = ("James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
            "Joseph Jessica Thomas Sarah Daniel Karen Matthew Nancy Anthony Lisa Mark Betty Steven Sandra Paul "
            "Ashley Andrew Emily Joshua Donna Kevin Michelle Brian Carol George Amanda Omar Priya Wei Chen Aisha "
            "Lucas Sofia Mateo Hannah Noah Olivia Ethan Grace").split()
EN_LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
           "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
           "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
           "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Patel Kim Okafor Schmidt").split()

ZH_DEPTS = ["财务部", "人力资源部", "研发中心", "市场部", "销售一部", "销售二部", "法务部", "采购部", "信息技术部",
            "行政部", "审计部", "战略发展部", "客户服务中心", "生产管理部", "质量管理部", "供应链管理部", "品牌部",
            "运营中心", "安全保卫部", "投资管理部"]
EN_DEPTS = ["Finance", "Human Resources", "Engineering", "Marketing", "Sales EMEA", "Sales APAC", "Legal",
            "Procurement", "IT Operations", "Facilities", "Internal Audit", "Corporate Strategy", "Customer Success",
            "Manufacturing", "Quality Assurance", "Supply Chain", "Brand", "Operations", "Security", "Treasury"]
ZH_COMPANIES = ["华信科技有限公司", "东方智联股份有限公司", "恒通物流集团", "中科远航信息技术有限公司", "博瑞医药股份有限公司",
                "新锐能源有限公司", "海川建设工程有限公司", "星辰数据服务有限公司", "金桥贸易有限公司", "云帆软件有限公司",
                "天成精密制造有限公司", "瑞丰农业发展有限公司", "长江新材料股份有限公司", "鼎盛置业有限公司"]
EN_COMPANIES = ["Northwind Analytics Ltd", "Bluepeak Systems Inc", "Harbor & Vale LLP", "Crescent Logistics GmbH",
                "Meridian Health Partners", "Oakridge Manufacturing Co", "Silverline Software Ltd", "Atlas Freight Corp",
                "Greenfield Energy plc", "Pinecrest Retail Group", "Lumen Biotech Inc", "Summit Data Services",
                "Redwood Capital Advisors", "Keystone Components Ltd"]
ZH_PROJECTS = ["星河", "磐石", "远航", "天枢", "青鸟", "凌云", "北斗", "鲲鹏", "启明", "朱雀", "琥珀", "银杏"]
EN_PROJECTS = ["Aurora", "Bedrock", "Voyager", "Polaris", "Bluebird", "Skyline", "Northstar", "Kestrel", "Daybreak",
               "Phoenix", "Amber", "Ginkgo", "Cobalt", "Tundra"]
ZH_CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "西安", "南京", "重庆", "天津", "苏州", "乌鲁木齐",
             "长沙", "郑州", "青岛", "厦门", "合肥", "昆明", "沈阳"]
EN_CITIES = ["London", "Manchester", "Chicago", "Austin", "Toronto", "Sydney", "Singapore", "Berlin", "Dublin",
             "Seattle", "Boston", "Denver", "Leeds", "Auckland", "Vancouver", "Atlanta"]
ZH_TITLES = ["工程师", "高级工程师", "主管", "经理", "高级经理", "总监", "专员", "分析师", "助理", "架构师", "会计", "出纳"]
EN_TITLES = ["Engineer", "Senior Engineer", "Team Lead", "Manager", "Senior Manager", "Director", "Specialist",
             "Analyst", "Coordinator", "Architect", "Accountant", "Associate"]
ZH_PRODUCTS = ["智能路由器", "空气净化器", "电动牙刷", "蓝牙耳机", "扫地机器人", "电饭煲", "血压计", "投影仪", "打印机",
               "无线摄像头", "电热水器", "智能手表"]
EN_PRODUCTS = ["wireless router", "air purifier", "electric toothbrush", "Bluetooth headset", "robot vacuum",
               "rice cooker", "blood pressure monitor", "projector", "laser printer", "security camera",
               "water heater", "smart watch"]
ZH_TOPICS = ["数据治理", "成本控制", "客户满意度", "供应链韧性", "数字化转型", "安全生产", "绿色低碳", "人才培养"]
EN_TOPICS = ["data governance", "cost control", "customer satisfaction", "supply chain resilience",
             "digital transformation", "workplace safety", "carbon reduction", "talent development"]

Slot = Callable[[random.Random], str]


def _zh_name(r: random.Random) -> str:
    return r.choice(ZH_SURNAMES) + "".join(r.choice(ZH_GIVEN) for _ in range(r.choice((1, 2))))


def _en_name(r: random.Random) -> str:
    return f"{r.choice(EN_FIRST)} {r.choice(EN_LAST)}"


def _digits(r: random.Random, n: int) -> str:
    return "".join(r.choice(string.digits) for _ in range(n))


def _id_number(r: random.Random) -> str:
    # shaped like a PRC resident ID (region, birth date, sequence); the check digit is not computed
    return f"{r.choice(['110105', '310104', '440305', '650102', '510107'])}{r.randint(1965, 2000)}" \
           f"{r.randint(1, 12):02d}{r.randint(1, 28):02d}{_digits(r, 3)}{r.choice('0123456789X')}"


def _email(r: random.Random) -> str:
    return f"{r.choice(EN_FIRST).lower()}.{r.choice(EN_LAST).lower()}@{r.choice(['example.com', 'corp.example', 'mail.example.org'])}"


def _zh_date(r: random.Random) -> str:
    return f"{r.randint(2019, 2026)}年{r.randint(1, 12)}月{r.randint(1, 28)}日"


def _en_date(r: random.Random) -> str:
    months = "January February March April May June July August September October November December".split()
    return f"{r.randint(1, 28)} {r.choice(months)} {r.randint(2019, 2026)}"


def _zh_money(r: random.Random) -> str:
    return r.choice([f"{r.randint(2, 980)}万元", f"{r.randint(1, 60)}.{r.randint(0, 9)}亿元", f"{r.randint(1000, 99000):,}元"])


def _en_money(r: random.Random) -> str:
    return r.choice([f"${r.randint(2, 980)},{r.randint(0, 999):03d}", f"£{r.randint(1, 60)}.{r.randint(0, 9)} million",
                     f"${r.randint(1, 40)}.{r.randint(0, 9)}m", f"EUR {r.randint(10, 900)},000"])


SLOTS: dict[str, dict[str, Slot]] = {
    "zh": {
        "name": _zh_name,
        "dept": lambda r: r.choice(ZH_DEPTS),
        "company": lambda r: r.choice(ZH_COMPANIES),
        "project": lambda r: r.choice(ZH_PROJECTS),
        "city": lambda r: r.choice(ZH_CITIES),
        "title": lambda r: r.choice(ZH_TITLES),
        "product": lambda r: r.choice(ZH_PRODUCTS),
        "topic": lambda r: r.choice(ZH_TOPICS),
        "date": _zh_date,
        "money": _zh_money,
    },
    "en": {
        "name": _en_name,
        "dept": lambda r: r.choice(EN_DEPTS),
        "company": lambda r: r.choice(EN_COMPANIES),
        "project": lambda r: r.choice(EN_PROJECTS),
        "city": lambda r: r.choice(EN_CITIES),
        "title": lambda r: r.choice(EN_TITLES),
        "product": lambda r: r.choice(EN_PRODUCTS),
        "topic": lambda r: r.choice(EN_TOPICS),
        "date": _en_date,
        "money": _en_money,
    },
}
_COMMON: dict[str, Slot] = {
    "pct": lambda r: f"{r.randint(1, 95)}.{r.randint(0, 9)}%",
    "num": lambda r: str(r.randint(2, 480)),
    "year": lambda r: str(r.randint(2019, 2027)),
    "q": lambda r: str(r.randint(1, 4)),
    "phone": lambda r: f"1{r.choice('3456789')}{_digits(r, 9)}",
    "idno": _id_number,
    "email": _email,
    "emp": lambda r: f"E{_digits(r, 6)}",
    "score": lambda r: str(r.randint(55, 99)),
    "ref": lambda r: f"{r.choice(['HR', 'FIN', 'PRJ', 'ADM', 'LGL'])}-{r.randint(2019, 2026)}-{_digits(r, 3)}",
    "art": lambda r: str(r.randint(1, 60)),
}
for _lang in SLOTS.values():
    _lang.update(_COMMON)


def filler_terms() -> list[str]:
    """Names, companies, cities and projects the slots produce (kept out of explanations).

    Two-character Chinese names and name fragments are listed whole; longer
    random combinations are too rare in the corpus to reach the explanation
    vocabulary's document-frequency floor.
    """
    zh_names = [a + b for a in ZH_SURNAMES + ZH_GIVEN for b in ZH_GIVEN]
    return [*zh_names, *EN_FIRST, *EN_LAST, *ZH_COMPANIES, *EN_COMPANIES, *ZH_PROJECTS, *EN_PROJECTS,
            *ZH_CITIES, *EN_CITIES]
