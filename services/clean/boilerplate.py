"""What boilerplate looks like, in Chinese and English: class/id names, phrases and whole lines.

Plain data and small predicates; ``content.py`` uses them to drop page furniture before and after it scores
the text blocks. The lists are general (what news sites and content farms wrap stories in), never tuned to
one page.
"""

from __future__ import annotations

import re

# Class/id words of blocks that are page furniture, not the story (readability's list, widened). Matched as whole
# words of the normalised names (see ``names``): "pageRow" is not a "pager", "sidebar_right" is a "sidebar".
UNLIKELY = re.compile(
    r"(?<![a-z0-9])(?:ad|ads|adv|advert\w*|banners?|breadcrumbs?|crumbs?|combx|comments?|community|cookies?|"
    r"disqus|extra|footer|gdpr|header|legends?|menus?|nav|navbar|navigation|related|remark|replies|rss|"
    r"shoutbox|sidebar|skyscraper|social|sponsor\w*|supplemental|agegate|pagination|pager|popup|"
    r"recommend\w*|share|sharing|subscribe|newsletter|copyright|disclaimer|toolbar|tags|hot-?news|"
    r"hot-?list|rank\w*|friend-?links?|flinks?|masthead|signup|promo|outbrain|taboola|modal|qrcode|erweima|"
    r"login|search|widget|tooltips?|popover|hover-?card)(?![a-z0-9])",
)
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")


def names(class_id: str) -> str:
    """Class and id as lower-case words: camelCase split, so word boundaries fall where the author meant."""
    return _CAMEL.sub(r"\1-\2", class_id).lower()


# Reader comments: never the story, however much text they hold (a post with 60 replies under it).
COMMENTS = re.compile(r"(?<![a-z0-9])(?:comments?|comment-?list|replies|disqus)(?![a-z0-9])")

# Tokens that keep a block in play despite an unlikely token (an "article-comments-count" is not a comment box).
MAYBE = re.compile(r"and|article|body|column|content|main|shadow|text|story|entry|post|detail|endtext|artibody",
                   re.IGNORECASE)
POSITIVE = re.compile(
    r"article|body|content|entry|hentry|h-entry|main|page|post|text|blog|story|detail|endtext|artibody|"
    r"zhengwen|neirong|wenzhang|news_?txt|newstext|con_?txt",
    re.IGNORECASE,
)
NEGATIVE = re.compile(
    r"-ad-|hidden|^hid$|\bhid\b|banner|combx|comment|com-|contact|foot|footer|footnote|gdpr|masthead|media|"
    r"meta|outbrain|promo|related|scroll|share|shoutbox|sidebar|skyscraper|sponsor|shopping|tags|tool|widget|"
    r"recommend|copyright|disclaimer|byline|author|dateline|caption|credit|subscribe|newsletter|nav|menu|"
    r"breadcrumb|rank|hot|friend|flink|login|qrcode",
    re.IGNORECASE,
)

# Strings that mark a line as furniture wherever they stand (copyright, share widgets, link lists).
PHRASES_ZH = (
    "版权所有", "版权声明", "版权归", "转载请注明", "未经授权", "未经许可", "ICP备", "ICP证", "网安备",
    "公网安备", "相关新闻", "相关推荐", "相关阅读", "相关文章", "相关报道", "热门推荐", "热点推荐", "猜你喜欢",
    "推荐阅读", "延伸阅读", "友情链接", "网站地图", "分享到", "分享至", "用微信扫码", "扫一扫", "扫描二维码",
    "客户端下载", "下载客户端", "免责声明", "关于我们", "联系我们", "广告服务", "广告合作", "上一篇", "下一篇",
    "返回首页", "返回顶部", "打印本页", "关闭窗口", "我要评论", "我来说两句", "发表评论", "网友评论", "点击进入专题",
    "责任编辑", "责编", "本文来源", "原标题", "更多精彩", "点击查看", "加入收藏", "设为首页",
)
PHRASES_EN = (
    "All rights reserved", "All Rights Reserved", "Copyright", "©", "Privacy Policy", "Terms of Use",
    "Terms of Service", "Cookie Policy", "Related Articles", "Related Stories", "Related Posts", "Read more:",
    "You may also like", "Recommended for you", "Follow us on", "Share this", "Sign up for", "Subscribe to our",
    "Leave a Reply", "Leave a comment", "Advertisement", "ADVERTISEMENT", "Click here to", "Newsletter",
    "Most Popular", "Most Read", "Trending Now", "Share on Facebook", "Share on Twitter",
)
PHRASES = PHRASES_ZH + PHRASES_EN
_PHRASE_RE = re.compile("|".join(re.escape(p) for p in sorted(PHRASES, key=len, reverse=True)))

# A short line that opens a list of other stories: everything after it in the container goes.
SECTION_END = re.compile(
    r"^\W*(相关(新闻|推荐|阅读|文章|报道|链接|专题)|热门推荐|热点推荐|猜你喜欢|推荐阅读|延伸阅读|更多(新闻|阅读|精彩)|"
    r"友情链接|今日推荐|编辑推荐|精彩推荐|网友评论|我要评论|发表评论|"
    r"related (articles|stories|posts|coverage|news|content)|more (stories|from|on this)|you may also like|"
    r"recommended( for you| stories)?|read (more|next)|most (popular|read)|trending|also read|see also|"
    r"more [\w' ]{0,30}(stories|news|articles|coverage)|"
    r"comments?|leave a (reply|comment)|"
    # other languages: read also / related / most read / comments
    r"читайте( также)?|см\. также|похожие( статьи| материалы)?|самые популярные.*|популярное|отзывы|комментарии|"
    r"leia (também|mais)|veja (também|mais)|mais lidas|notícias relacionadas|comentários|"
    r"lesen sie (auch|mehr)|mehr zum thema|das könnte sie auch interessieren|kommentare|"
    r"leggi anche|articoli correlati|i più letti|commenti|lee también|artículos relacionados|lo más leído|"
    r"関連記事|関連ニュース|あわせて読みたい|관련\s?기사|많이 본 뉴스|"
    r"à lire aussi|lire aussi|sur le même sujet|baca juga|berita terkait|tin liên quan|ilgili haberler|"
    # Arabic: most read / related topics / read also; Thai: related stories / related news
    r"الأكثر\s+(?:تصفح|قراءة|مشاهدة)\w*|(?:مواضيع|أخبار|مقالات)\s+ذات\s+صلة|اقرأ\s+أيضا\w*|"
    r"เรื่องที่เกี่ยวข้อง|ข่าวที่เกี่ยวข้อง)\W*$",
    re.IGNORECASE,
)

# Lines that are bylines/credits/editor notes rather than story text (the story keeps its dateline).
CREDIT_LINE = re.compile(
    r"^\W*[\(（\[【]?\s*(责任编辑|责编|编辑|校对|审核|终审|值班编辑|本文来源|来源|文章来源|稿件来源|资料来源|原标题|原题为?|"
    r"图片来源|图片|摄影|供图|作者|记者|采写|撰文|文|图)\s*[:：/]",
)


# Marks of a site footer: a block holding one of these is not a part of the story.
FOOTER = re.compile(r"©|\(c\)\s*\d{4}|copyright|all rights reserved|版权所有|版权归|著作权|免责声明|不代表本(?:网|站)观点|ICP[备证]|privacy policy|terms of (use|service)",
                    re.IGNORECASE)


def is_footer(text: str) -> bool:
    return FOOTER.search(text) is not None


# Whole lines that are widget labels or credits, not prose.
UI_LINE = re.compile(
    r"^\W*(caption|close|open|back to (gallery|top)|view (gallery|comments|all)|show (more|less)|expand|"
    r"enlarge (this )?image|next|previous|prev|print|email|e-mail|tweet|share|comments?|read more|continue reading|"
    r"advertisement|advert|ad|ads|sponsored( content)?|loading\.*|this slideshow requires javascript|"
    r"tell us what you think|have your say|打印|关闭|收藏|返回|更多|展开全文|点击展开|阅读全文|查看原图|点击图片进入下一页|"
    r"(photo|image|photograph|picture|credit|illustration|video|source)s?\s*(:|by\b).{0,80}|"
    r"(updated|published|posted|last (updated|modified))\b.{0,60})\W*$",
    re.IGNORECASE,
)


# A photo caption ends with its credit: (AP Photo/Alan Diaz), | Getty Images, 图/新华社.
PHOTO_CREDIT = re.compile(
    r"\((?:AP|AFP|Reuters|EPA|Getty|[A-Z][\w.]*)?\s*(?:Photo|Foto|Image|Picture)s?\s*(?:/|by|:)[^)]{0,80}\)\s*$|"
    r"[|/]\s*(?:Getty Images|Shutterstock|AFP|Reuters|AP|EPA|Bloomberg)(?:\s+via\s+[\w ]+)?\s*$|"
    r"^[\w .'-]{2,60}\s*\|\s*[\w .'-]{2,40}\s*\|\s*(?:Getty Images|Shutterstock|AFP|Reuters)\s*$|"
    # Chinese captions end with the photographer or the picture source: ……周斌 摄, （视频截图）, （视觉中国）
    r"\((?:photo |image )?credit:[^)]{1,80}\)\s*$|"
    r"(?:\s摄|摄影?\s*[)）]?|[（(](?:视频|网络)?截图[)）]|截图|[（(](?:视觉中国|资料图|新华社发|图虫创意|IC photo|东方IC)[)）]|"
    r"供图[)）]?|[（(]图(?:片)?(?:源|来源)?[:：][^)）]{1,20}[)）])\s*$",
)
# Credits that carry no colon: 编辑 刘晓阳 校对 李铭; a reporter's name alone closing the story: 新京报记者 陆一夫.
BARE_CREDIT = re.compile(
    r"^(?:(?:编辑|校对|责编|审核|审校|监制|制作|策划)\s*[\u4e00-\u9fff·]{2,4}\s*)+$|"
    r"^[\u4e00-\u9fff]{0,10}(?:记者|通讯员)\s*[\u4e00-\u9fff·]{2,4}(?:[\s、]+[\u4e00-\u9fff·]{2,4}){0,3}$"
)
# A short line that is a time stamp with a name or two: a teaser's or the page's meta line, not prose.
META_LINE = re.compile(r"(?:19|20)\d{2}[-/.年]\d{1,2}[-/.月]\d{1,2}日?\s*\d{1,2}[:：]\d{2}")


# English furniture lines that carry words but no story: picture credits and gallery counters, video player
# notices, social buttons, contributor notes, sign-up and follow-us promotions, citation and reuse notices.
EN_FURNITURE = re.compile(
    r"^\W*(?:"
    r"(?:image|photo|picture|video)\s+(?:copyright|credit|courtesy)\b.{0,80}|"
    r"(?:image|photo|picture|slide)\s+\d+\s+(?:of|/)\s+\d+|"
    r"sharing is caring!?|like this:?|like loading\W*|tags|trending( news| now)?|"
    r"getty images|shutterstock|popular on [\w .'-]{1,40}|related (?:roundup|topics?|coverage):.{0,80}|"
    r"\(?(?:additional )?reporting by\b.{3,300}|"
    r".{3,300}\bcontributed (?:reporting|to this (?:report|story|article))\b.{0,80}|"
    r"(?:get|sign up for|subscribe to)\b.{0,80}\b(?:newsletters?|in your inbox)\b.{0,80}|"
    r"subscribe\b.{0,120}|follow @?[\w.]+ on (?:twitter|facebook|instagram)\b.{0,400}|"
    r"(?:have a (?:news )?tip|like this (?:story|article)|enjoy(?:ed)? this (?:story|article)|"
    r"if you enjoyed this (?:story|article))\b.{0,400}|"
    r"(?:reading time|read time|tempo de leitura|tiempo de lectura|lesezeit)\s*:?\s*\d+\s*\w*|\d+\s*min(?:ute)?s?\s+read|"
    r"[\w .'-]{2,60}\s+via\s+(?:AP|Reuters|AFP|Getty Images|EPA)|"
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?:https?://)?(?:www\.)?(?:twitter|x|instagram|facebook)\.com/[\w.]+/?|"
    r"(?:chat with|talk to|message|join|find|like) us (?:in|on|via) (?:facebook(?: messenger)?|messenger|whatsapp|telegram|"
    r"twitter|x|instagram|linkedin|youtube|tiktok|flipboard|google news)\b.{0,160}|"
    # how to cite this page (… retrieved 19 November 2019 from https://…) and a notice that it is under copyright
    r".{0,300}\bretrieved\s+(?:on\s+)?[\w ,.]{4,40}?\s+from\s+(?:https?://|www\.)\S+.{0,80}|"
    r"(?:this|the|all) [\w ]{0,40}?\b(?:is|are) subject to copyright\b.{0,300}"
    r")\W*$",
    re.IGNORECASE,
)
# A staff byline line: "Jane Doe, AP Auto Writer", "Jane Doe and John Roe, Associated Press", "By Jane Doe, Staff".
STAFF_BYLINE = re.compile(
    r"^(?:by\s+)?[A-Z][\w.'-]+(?:\s+[A-Z][\w.'-]+){1,3}(?:,?\s+and\s+[A-Z][\w.'-]+(?:\s+[A-Z][\w.'-]+){1,3})?,\s+"
    r"(?:(?:the\s+)?associated press|ap|reuters|afp|bloomberg|cnn|staff)(?:\s+[\w ]{0,40}(?:writer|reporter|correspondent))?$",
    re.IGNORECASE,
)


# A line that is only a written-out date and time (Monday, November 18, 2019, 04:05 pm PT; sexta-feira, 22 de
# outubro de 2010 às 20:13): the page's time stamp, not prose. One year only: a range of dates may be an event's.
MONTH_NAMES = (r"jan(?:uary|eiro)?|feb(?:ruary)?|fev(?:ereiro)?|mar(?:ch|ço|co)?|apr(?:il)?|abr(?:il)?|may|maio|mai|jun[eio]?|"
               r"jul[yio]?|aug(?:ust)?|ago(?:sto)?|sep(?:t|tember)?|set(?:embro)?|oct(?:ober)?|out(?:ubro)?|nov(?:ember|embro)?|"
               r"dec(?:ember)?|dez(?:embro)?|dic(?:iembre)?|enero|febrero|marzo|mayo|junio|julio|septiembre|octubre|noviembre|"
               r"januar|februar|märz|oktober|dezember|janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre")
DAY_NAMES = (r"mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:rs|rsday)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?|"
             r"segunda|terça|quarta|quinta|sexta|sábado|domingo|feira|lunes|martes|miércoles|jueves|viernes|"
             r"montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche")
DATE_FILLER = r"published|updated|posted|first|last|modified|on|at|de|às|um|am|pm|a\.m\.|p\.m\.|the|le|à|el|(?-i:[A-Z]{2,4})"
DATE_TOKEN = re.compile(rf"\b(?:{MONTH_NAMES}|{DAY_NAMES})\b\.?|\d+(?:st|nd|rd|th)?|\b(?:{DATE_FILLER})\b|[\W_]+",
                        re.IGNORECASE)
DATE_WORD = re.compile(rf"\b(?:{MONTH_NAMES}|{DAY_NAMES})\b", re.IGNORECASE)
A_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")


def is_date_line(text: str) -> bool:
    if len(text) > 80 or len(A_YEAR.findall(text)) != 1:
        return False
    if not DATE_WORD.search(text):
        return False
    return DATE_TOKEN.sub("", text).strip() == ""


# A note on how reader comments are moderated (comments are not the story, nor are the rules for them).
COMMENT_NOTE = re.compile(
    r"\b(?:comments?|comentários?|comentarios?|kommentare?|commentaires?|commenti|комментари\w*)\b.{0,160}"
    r"(?:\b(?:moderat\w*|moderad\w*|moderiert\w*|modér\w*|модер\w*)|"
    r"\b(?:will not|won't|must|não serão|no serán|werden nicht)\s+(?:be\s+)?(?:approved|aprovad\w*|aprobad\w*|freigeschaltet))|"
    r"\b(?:moderat\w*|moderad\w*|модер\w*)\b.{0,60}\b(?:comments?|comentários?|comentarios?|комментари\w*)|"
    # Arabic: reviewing / publishing the comments (مراجعة التعليقات, نشر التعليقات)
    r"(?:مراجعة|نشر|إدارة)\s+(?:ال)?تعليقات",
    re.IGNORECASE,
)
# A note that what readers (or guest writers) say is not the site's opinion: about the page, not the story.
OPINION_NOTE = re.compile(
    r"\b(?:views|opinions|comments)\s+expressed\b.{0,80}\b(?:do not|don't|does not)\s+(?:necessarily\s+)?"
    r"(?:reflect|represent)|"
    r"لا\s+(?:تعبر|تعكس)\s+(?:بالضرورة\s+)?عن\s+(?:رأي|وجهة)|не\s+обязательно\s+(?:отражает|совпадает)|"
    r"não\s+(?:reflete|refletem|representa)m?\s+(?:necessariamente\s+)?a\s+opinião|"
    r"no\s+(?:refleja|reflejan|representa)n?\s+(?:necesariamente\s+)?la\s+opinión",
    re.IGNORECASE,
)
# A paywall's notice: the rest of the story is for subscribers or members (log in, choose a plan).
PAYWALL = re.compile(
    r"\b(?:for|to) (?:paying )?(?:subscribers|members) only\b|\b(?:subscribers?|members?)[- ]only (?:content|article|story)|"
    r"\b(?:subscribe|log ?in|sign ?in|register)\b.{0,40}\b(?:to (?:continue|keep) reading|to read (?:the full|the rest|more))|"
    r"\bthis (?:article|story|content) is (?:only |exclusively )?(?:available )?(?:to|for) (?:subscribers|members)\b|"
    r"\balready a (?:subscriber|member)\b|"
    r"会員限定|有料会員|有料プラン|続きをお読み|会員の方はこちら|会员专享|付费阅读|订阅后(?:阅读|查看)|登录后(?:阅读|查看)全文|"
    r"\bnur für abonnenten|\bexklusiv für abonnenten|\bréservé aux abonnés|\bexclusivo para (?:assinantes|suscriptores)|"
    r"\bsolo para suscriptores|\briservato agli abbonati|\bтолько для подписчиков",
    re.IGNORECASE,
)
# The "found a typo? select it and press Ctrl+Enter" widget of many sites (Orphus and its kind).
TYPO_NOTE = re.compile(
    r"ctrl\s*\+\s*enter|^\W*(?:found an? (?:typo|error|mistake)|нашли (?:ошибку|опечатку)|знайшли помилку|"
    r"kļūda rakstā|radās kļūda)\W*$",
    re.IGNORECASE,
)
# A bare time stamp with its zone: "Wednesday, 28 August 2013, last updated 14:00 (GMT+0400)", in any language.
ZONED_STAMP = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?::\d{2})?\s*\(?\s*(?:GMT|UTC)\s*(?:[+-]\s*\d{1,4}(?::\d{2})?)?\s*\)?")
# A line of links to the site's own pages on social networks ("Facebook https://fb.me/site", "LINE ID = @site").
SOCIAL_URL = re.compile(
    r"^(?:[^\s/]{1,30}(?:\s+[^\s/]{1,30}){0,2}\s*[:=]?\s+|[^\s/]{1,30}\s*[:=]\s*)?(?:https?://)?(?:www\.)?"
    r"(?:facebook\.com|fb\.me|twitter\.com|x\.com|t\.me|instagram\.com|youtube\.com|line\.me|tiktok\.com|"
    r"weibo\.com|vk\.com)/\S*$",
    re.IGNORECASE,
)


def is_pager(text: str) -> bool:
    """A line of page numbers and arrows (1 2 3 … >>, "8"): a gallery's or a listing's pager."""
    if len(text) > 40:
        return False
    rest = re.sub(r"[\s<>«»‹›…|/·]+", " ", text).split()
    return bool(rest) and all(part.isdigit() and len(part) <= 3 for part in rest)


# A post's meta line: who posted it, when, under which category and tags.
POST_META = re.compile(
    r"\b(?:posted|published|written|publicad[oa]|escrito|pubblicato|veröffentlicht|publié)\s+(?:by|por|da|von|par)\b"
    r".{0,160}\b(?:tags?|categor(?:y|ies|ia|ias|ie)|filed under|marcadores)\b",
    re.IGNORECASE,
)


# A bracketed call to action (【点击投票】, 【立即下载】, [戳这里]): a promotion, not the story.
ZH_CALL_TO_ACTION = re.compile(r"[【\[]\s*(?:点击|立即|马上|戳这里|扫码|长按)[^】\]]{0,10}[】\]]")


# Chinese source and page notes: where the text was taken from, what it was first called, how often it was read,
# where its pictures came from, which page of how many this is.
ZH_NOTE = re.compile(
    r"^\W*(?:[（(]\s*)?(?:原(?:标)?题为?\s*[《“]|摘自\s*《|本文来自|图片(?:均)?(?:来自|源自)网络)|"
    r"^[—-]{1,2}\s*《[^》]{1,30}》\s*(?:\d{4}\s*年)?\s*(?:\d{1,2}\s*月号?|第?\s*\d+\s*期)?\W*$|"
    r"已被阅读\s*\d+\s*次|(?:阅读|点击|浏览)(?:次数|数)?\s*[:：(（]\s*\d+\s*次?[)）]?\s*$|\btrackback\b|"
    r"第\s*\d+\s*页\s*[/／]\s*共\s*\d+\s*页|上一页|下一页",
    re.IGNORECASE,
)


def is_ui_line(text: str) -> bool:
    if len(text) <= 100 and UI_LINE.match(text) is not None:
        return True
    if len(text) <= 500 and EN_FURNITURE.match(text) is not None:
        return True
    if len(text) <= 120 and STAFF_BYLINE.match(text) is not None:
        return True
    if is_date_line(text):
        return True
    if len(text) <= 250 and (COMMENT_NOTE.search(text) or POST_META.search(text) or OPINION_NOTE.search(text)
                             or ZH_CALL_TO_ACTION.search(text) or ZH_NOTE.search(text)):
        return True
    if len(text) <= 200 and (PAYWALL.search(text) or TYPO_NOTE.search(text)):
        return True
    if len(text) <= 80 and (ZONED_STAMP.search(text) and A_YEAR.search(text) or SOCIAL_URL.match(text)):
        return True
    if is_pager(text):
        return True
    if len(text) <= 400 and PHOTO_CREDIT.search(text) is not None:
        return True
    if len(text) <= 40 and BARE_CREDIT.match(text) is not None:
        return True
    return len(text) <= 60 and META_LINE.search(text) is not None


# Phrases that are furniture only as a line's label (上一篇：<title>); inside a sentence of prose they are words
# ("可以参考我的上一篇文章。").
LABEL_PHRASES = frozenset({"上一篇", "下一篇"})
_SENTENCE = re.compile(r"[。！？.!?][”」』\"')）]?$")


def has_phrase(text: str) -> bool:
    for found in _PHRASE_RE.finditer(text):
        if (found.group() in LABEL_PHRASES and text[:found.start()].strip(" \t　【[（(·|-") and len(text) > 20
                and _SENTENCE.search(text.rstrip())):
            continue
        return True
    return False


def is_section_end(text: str) -> bool:
    return len(text) <= 40 and SECTION_END.match(text.strip()) is not None


# What an interviewer says (记者：你怎样看待……？): a question or a sentence after the role, not a name.
_SAID = re.compile(r"[。？?！!…”」]$")


def is_credit_line(text: str) -> bool:
    if len(text) > 60 or (match := CREDIT_LINE.match(text)) is None:
        return False
    rest = text[match.end():].strip()
    return not (match.group(1) == "记者" and len(rest) > 4 and _SAID.search(rest))
