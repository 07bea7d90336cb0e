"""Static vocabulary of the demo platform: names, places, devices, traffic sources.

Everything here is fictional (fighters, writers, the site itself) except what has to be
realistic for the warehouse to classify it: user agents, referrer hosts, IP ranges.
"""

# ruff: noqa: E501, SIM905  (long user-agent literals; word lists read best as text)
from __future__ import annotations

SITE = "https://ringside.example"
PROMOTION = "RFC"  # the fictional promotion whose fight nights the site covers

WEIGHT_CLASSES: tuple[str, ...] = (
    "Flyweight",
    "Bantamweight",
    "Featherweight",
    "Lightweight",
    "Welterweight",
    "Middleweight",
    "Light Heavyweight",
    "Heavyweight",
    "Women's Strawweight",
    "Women's Flyweight",
    "Women's Bantamweight",
)

MEN_FIRST: tuple[str, ...] = tuple(
    """
    Mateus Dmitri Kai Conor Rafael Jamal Tiago Marcus Yusuf Sean Diego Kamil Arman Leon Tyson
    Brandon Jake Paulo Dustin Alex Sergei Joaquin Ryan Henry Renato Aleksandar Caio Mauricio
    Johnny Tariq Emeka Viktor Andre Bruno Lukas Omar Eli Nikolai Felipe
    """.split()
)
WOMEN_FIRST: tuple[str, ...] = tuple(
    """
    Tatiana Amanda Erin Rose Jessica Mackenzie Alexa Irene Julia Raquel Natalia Tracy Casey
    Gillian Lupita Norma Karine Priscila Hana Daria Mia Camila Nadia Leah
    """.split()
)
LAST: tuple[str, ...] = tuple(
    """
    Okafor Brandao Kowalski Volkov Nakamura Reyes Mendes Petrov Santos Haddad Lindqvist
    Adeyemi Moreno Kuznetsov Duarte Fitzgerald Tanaka Costa Novak Garcia Ivanov Jensen Abdulov
    Carvalho Murphy Sokolov Hernandez Bautista Ferreira Walsh Horvath Mwangi Castillo Lachance
    Rahimov Achterberg Delgado Quinlan Szabo Tavares Vance Yilmaz Zubairov Obi Pacheco
    Marchetti Dubois Kaminski Amado
    """.split()
)

AUTHORS: tuple[str, ...] = (
    "Maya Castellanos",
    "Tom Reddick",
    "Priya Natarajan",
    "Luis Ferraz",
    "Hannah Okoye",
    "Declan Burke",
    "Sofia Lindgren",
    "Marcus Bell",
    "Aiko Sato",
    "Ben Abramowitz",
)

# Article title templates. {a}/{b} fighters, {ev} fight event name, {wc} weight class.
ARTICLES_PREVIEW: tuple[str, ...] = (
    "{a} vs. {b}: full breakdown and prediction for {ev}",
    "{ev} fight card: {a} vs. {b} confirmed",
    "Inside {a}'s camp ahead of {ev}",
    "Betting odds: {a} opens as favourite over {b}",
    "{b} replaces injured opponent, meets {a} at {ev}",
    "{a}: 'I'm going to finish {b} inside two rounds'",
)
ARTICLES_FIGHT_EVE: tuple[str, ...] = (
    "{a} makes weight for {ev}",
    "{ev} weigh-in results: {a} and {b} on weight",
    "{ev} final predictions: {a} vs. {b}",
)
ARTICLES_RESULT: tuple[str, ...] = (
    "{ev} results: {a} stops {b} in the second round",
    "{ev} results: {a} def. {b} by split decision",
    "Judges under fire after {a} vs. {b} scorecards",
    "{ev} bonuses: {a} and {b} take Fight of the Night",
)
ARTICLES_AFTER: tuple[str, ...] = (
    "{a} calls out {b} after {ev} win",
    "Rankings update: {wc} shake-up after {ev}",
    "Five things we learned from {ev}",
    "{a} suspended 60 days after {ev} knockout loss",
    "What's next for {a} after {ev}?",
)
ARTICLES_GENERAL: tuple[str, ...] = (
    "{a} signs new multi-fight deal with the {promo}",
    "Opinion: is {a} the best {wcl} in the world?",
    "{a} on retirement rumours: 'I'm not done yet'",
    "{a} vs. {b} targeted for later this year",
    "The ten best {wcl}s in the world right now",
    "{a} explains move up from {wcl}",
    "Film study: how {a} shuts down wrestlers",
)
# Videos: (title template, min seconds, max seconds). All under 25 min, so a completion
# always lands within the 30-minute session timeout of its page view.
VIDEOS_BEFORE: tuple[tuple[str, int, int], ...] = (
    ("{ev} pre-fight press conference", 900, 1500),
    ("{ev} ceremonial weigh-ins", 300, 900),
    ("Countdown to {ev}: {a} vs. {b}", 600, 1200),
    ("Embedded: {ev} vlog, episode {n}", 300, 720),
    ("{a} open workout | {ev}", 240, 720),
)
VIDEOS_AFTER: tuple[tuple[str, int, int], ...] = (
    ("{a} vs. {b} | Full fight | {ev}", 600, 1500),
    ("{a} post-fight interview | {ev}", 180, 600),
    ("{ev} post-fight press conference", 900, 1500),
)
VIDEOS_GENERAL: tuple[tuple[str, int, int], ...] = (
    ("{a} highlight reel", 120, 300),
    ("Top 10 {wc} knockouts", 300, 600),
    ("Film study: {a}'s striking", 420, 900),
)

SEARCH_GENERIC: tuple[tuple[str, str | None], ...] = (
    # (query, weight class it is about)
    ("rankings", None),
    ("pound for pound", None),
    ("results", None),
    ("heavyweight rankings", "Heavyweight"),
    ("lightweight title", "Lightweight"),
    ("womens strawweight", "Women's Strawweight"),
    ("next fight night", None),
    ("ppv price", None),
    ("knockout of the year", None),
)
SEARCH_TYPOS: tuple[str, ...] = (
    "okafer",
    "kowalsky",
    "nurmagamedov",
    "makachev",
    "prochaska",
    "ringside tikets",
    "fite pass",
    "watch free stream",
    "strickland vs",
    "asdfgh",
)

# country -> (weight, locale, tz offsets in minutes for August, currency, first IPv4 octets,
# IPv6 prefix)
COUNTRIES: dict[str, tuple[float, str, tuple[int, ...], str, tuple[int, ...], str]] = {
    "US": (
        44,
        "en-US",
        (-240, -240, -300, -360, -420),
        "USD",
        (73, 24, 98, 68, 71, 99, 107, 174, 76),
        "2601:",
    ),
    "GB": (12, "en-GB", (60,), "GBP", (81, 86, 82, 90, 109, 31), "2a02:c7c:"),
    "BR": (10, "pt-BR", (-180,), "BRL", (177, 179, 187, 189, 191, 201), "2804:"),
    "CA": (6, "en-CA", (-240, -240, -420), "USD", (24, 70, 99, 142, 184), "2607:fea8:"),
    "AU": (5, "en-AU", (600, 600, 480), "USD", (49, 58, 101, 110, 120, 124), "2001:8003:"),
    "IE": (3, "en-IE", (60,), "EUR", (37, 78, 86, 89, 109), "2a02:8084:"),
    "DE": (4, "de-DE", (120,), "EUR", (79, 84, 87, 91, 93, 217), "2003:"),
    "FR": (3, "fr-FR", (120,), "EUR", (82, 86, 90, 92, 176), "2a01:cb00:"),
    "ES": (2, "es-ES", (120,), "EUR", (79, 83, 88, 95, 213), "2a0c:5a80:"),
    "MX": (4, "es-MX", (-360,), "USD", (177, 187, 189, 201), "2806:"),
    "PL": (2, "pl-PL", (120,), "EUR", (31, 37, 46, 83, 89, 178), "2a02:a310:"),
    "NL": (2, "nl-NL", (120,), "EUR", (77, 80, 84, 145, 213), "2a02:a460:"),
    "SE": (1, "sv-SE", (120,), "EUR", (78, 81, 83, 90, 94), "2001:9b1:"),
    "NZ": (1, "en-NZ", (720,), "USD", (49, 101, 115, 118, 122), "2406:e000:"),
    "PH": (1, "en-PH", (480,), "USD", (49, 112, 119, 122, 136), "2001:4450:"),
}

# plan -> currency -> price
SUBSCRIPTION_PRICES: dict[str, dict[str, float]] = {
    "monthly": {"USD": 9.99, "EUR": 9.99, "GBP": 7.99, "BRL": 29.9},
    "annual": {"USD": 99.99, "EUR": 94.99, "GBP": 79.99, "BRL": 299.9},
}
PPV_PRICES: dict[str, float] = {"USD": 59.99, "EUR": 54.99, "GBP": 44.99, "BRL": 149.9}

# (kind, user agent, weight). Browser versions are mid-2026 releases.
WEB_AGENTS: dict[str, tuple[tuple[str, float], ...]] = {
    "desktop": (
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36",
            34,
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36 Edg/143.0.0.0",
            10,
        ),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:146.0) Gecko/20100101 Firefox/146.0", 7),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36",
            18,
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Safari/605.1.15",
            16,
        ),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:146.0) Gecko/20100101 Firefox/146.0", 3),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36",
            4,
        ),
        ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:146.0) Gecko/20100101 Firefox/146.0", 2),
    ),
    "mobile": (
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 19_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Mobile/15E148 Safari/604.1",
            40,
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1",
            12,
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 19_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/143.0.7499.40 Mobile/15E148 Safari/604.1",
            5,
        ),
        (
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Mobile Safari/537.36",
            33,
        ),
        (
            "Mozilla/5.0 (Linux; Android 15; SM-S931B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/29.0 Chrome/136.0.0.0 Mobile Safari/537.36",
            10,
        ),
    ),
    "tablet": (
        (
            "Mozilla/5.0 (iPad; CPU OS 19_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Mobile/15E148 Safari/604.1",
            70,
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36",
            30,
        ),
    ),
}
# (user agent, manufacturer, model, os version)
IOS_APP_AGENTS: tuple[tuple[str, str, str, str], ...] = (
    (
        "Ringside/5.4.1 (com.ringside.app; build:5410; iOS 19.0.1) Alamofire/5.10.2",
        "Apple",
        "iPhone17,1",
        "19.0.1",
    ),
    (
        "Ringside/5.4.1 (com.ringside.app; build:5410; iOS 18.6.2) Alamofire/5.10.2",
        "Apple",
        "iPhone16,2",
        "18.6.2",
    ),
    (
        "Ringside/5.3.0 (com.ringside.app; build:5300; iOS 18.5.0) Alamofire/5.10.2",
        "Apple",
        "iPhone15,3",
        "18.5.0",
    ),
)
ANDROID_APP_AGENTS: tuple[tuple[str, str, str, str], ...] = (
    (
        "Dalvik/2.1.0 (Linux; U; Android 16; Pixel 9 Build/BP2A.250705.008)",
        "Google",
        "Pixel 9",
        "16",
    ),
    (
        "Dalvik/2.1.0 (Linux; U; Android 15; SM-S931B Build/AP3A.240905.015.A2)",
        "samsung",
        "SM-S931B",
        "15",
    ),
    (
        "Dalvik/2.1.0 (Linux; U; Android 14; SM-A546B Build/UP1A.231005.007)",
        "samsung",
        "SM-A546B",
        "14",
    ),
)
BOT_AGENTS: tuple[tuple[str, str], ...] = (
    # (user agent, IPv4 prefix of the crawler's published ranges)
    (
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.7499.40 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "66.249.66.",
    ),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "66.249.79."),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/143.0.0.0 Safari/537.36",
        "157.55.39.",
    ),
)

LIBRARIES: dict[str, dict[str, str]] = {
    "web": {"name": "analytics.js", "version": "next-1.81.1"},
    "ios": {"name": "analytics-ios", "version": "4.1.8"},
    "android": {"name": "analytics-android", "version": "4.11.3"},
}

ORGANIC_REFERRERS: tuple[tuple[str, float], ...] = (
    ("https://www.google.com/", 70),
    ("https://www.google.co.uk/", 8),
    ("https://www.google.com.br/", 6),
    ("https://www.bing.com/", 4),
    ("https://duckduckgo.com/", 3),
)
SOCIAL_REFERRERS: tuple[tuple[str, float], ...] = (
    ("https://www.facebook.com/", 22),
    ("https://l.facebook.com/", 10),
    ("https://t.co/", 12),
    ("https://x.com/", 8),
    ("https://www.reddit.com/r/MMA/", 22),
    ("https://www.instagram.com/", 10),
    ("https://www.youtube.com/", 6),
)
REFERRAL_REFERRERS: tuple[tuple[str, float], ...] = (
    ("https://www.tapology.com/fightcenter", 30),
    ("https://forums.sherdog.com/", 25),
    ("https://www.mmafighting.com/", 20),
    ("https://news.mmaforum.example/", 10),
    ("https://www.espn.com/mma/", 15),
)
SHARE_NETWORKS: tuple[str, ...] = ("twitter", "facebook", "reddit", "whatsapp", "copy_link")
SIGNUP_METHODS: tuple[tuple[str, float], ...] = (
    ("email", 45),
    ("google", 30),
    ("apple", 15),
    ("facebook", 10),
)
CANCEL_REASONS: tuple[str, ...] = (
    "too_expensive",
    "not_enough_content",
    "only_wanted_one_event",
    "technical_issues",
    "other",
)
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.net", "example.org", "mail.example")
