"""Vocabularies of the synthetic world: per-category words, hashtags and brands, and shared filler.

Entries are '|'-separated so the tables stay readable.
"""

from __future__ import annotations

from training.dataset.categories import CATEGORIES


def _table(raw: dict[str, str]) -> dict[str, tuple[str, ...]]:
    table = {name: tuple(text.split("|")) for name, text in raw.items()}
    assert set(table) == set(CATEGORIES), "a vocabulary per category"
    return table


WORDS: dict[str, tuple[str, ...]] = _table(
    {
        "beauty": (
            "lipstick|mascara|foundation|serum|glow|highlighter|eyeshadow palette|blush|"
            "concealer|lashes|brows|contour|moisturizer|nail polish|dewy skin|lip gloss|"
            "skincare routine|makeup look"
        ),
        "fashion": (
            "outfit|dress|denim jacket|sneakers|handbag|streetwear|blazer|heels|vintage finds|"
            "knitwear|trench coat|silk scarf|wardrobe|tailoring|linen shirt|leather boots|"
            "accessories|capsule wardrobe"
        ),
        "fitness": (
            "workout|squats|deadlift|leg day|cardio|gym session|reps|hiit|stretching|"
            "personal best|core training|kettlebell|running|yoga flow|pull ups|mobility|"
            "protein shake|rest day"
        ),
        "food": (
            "recipe|pasta|brunch|avocado toast|homemade bread|dessert|ramen|salad bowl|baking|"
            "sourdough|tacos|cheesecake|meal prep|smoothie bowl|curry|pancakes|dumplings|"
            "espresso"
        ),
        "family": (
            "my kids|toddler|newborn|mom life|bedtime story|school run|family dinner|siblings|"
            "baby steps|playground|nursery|first birthday|grandparents|family walk|little one|"
            "parenting|sleepless nights|naptime"
        ),
        "pet": (
            "my dog|puppy|kitten|cat nap|good boy|walkies|treats|fluffy|paws|dog park|"
            "rescue dog|vet visit|chew toy|litter box|tail wags|belly rubs|furry friend|"
            "zoomies"
        ),
        "interior": (
            "living room|sofa|house plants|shelf styling|home decor|kitchen renovation|"
            "cozy corner|scandinavian design|rug|lamp|bedroom makeover|wallpaper|tiles|"
            "diy project|reading nook|gallery wall|dining table|paint colour"
        ),
        "travel": (
            "beach|mountains|road trip|passport|sunset|old town|hiking trail|island|airport|"
            "backpacking|hotel view|city break|lake|ferry|hidden gem|street market|train ride|"
            "national park"
        ),
        "other": (
            "guitar|new single|art print|gaming setup|car meet|comic|podcast|tattoo|"
            "film camera|vinyl|sketchbook|concert|studio session|tech review|synthesizer|"
            "skateboard|poetry|chess"
        ),
    }
)

HASHTAGS: dict[str, tuple[str, ...]] = _table(
    {
        "beauty": (
            "makeup|skincare|mua|beautyblogger|lipstick|makeuptutorial|glowingskin|motd|"
            "eyeshadow|skincareroutine|nails|beautyaddict"
        ),
        "fashion": (
            "ootd|fashion|style|streetstyle|outfitoftheday|fashionblogger|whatiwore|lookbook|"
            "styleinspo|fashionista|vintagestyle|menswear"
        ),
        "fitness": (
            "fitness|gym|workout|fitfam|legday|fitnessmotivation|training|hiit|gymlife|"
            "personaltrainer|strongnotskinny|run"
        ),
        "food": (
            "food|foodie|foodporn|instafood|yummy|homecooking|recipe|foodblogger|brunch|baking|vegan|mealprep"
        ),
        "family": (
            "family|momlife|motherhood|kids|parenting|babyboy|babygirl|familytime|dadlife|"
            "toddlerlife|momblogger|siblings"
        ),
        "pet": (
            "dogsofinstagram|catsofinstagram|puppy|petstagram|dog|cat|rescuedog|instadog|"
            "catlover|dogmom|petsofinstagram|adoptdontshop"
        ),
        "interior": (
            "interior|homedecor|interiordesign|homesweethome|myhome|interiorstyling|decor|"
            "scandinavianhome|homeinspo|renovation|plantsofinstagram|diy"
        ),
        "travel": (
            "travel|wanderlust|travelgram|instatravel|travelphotography|explore|adventure|"
            "vacation|traveltheworld|roadtrip|beachlife|hiking"
        ),
        "other": ("music|art|gaming|photography|tattoo|cars|podcast|artist|illustration|tech|vinyl|musician"),
    }
)

BRANDS: dict[str, tuple[str, ...]] = _table(
    {
        "beauty": "glossier|fentybeauty|maccosmetics|nyxcosmetics|sephora|theordinary",
        "fashion": "zara|hm|asos|mango|levis|uniqlo",
        "fitness": "gymshark|nike|adidas|lululemon|myprotein|underarmour",
        "food": "kitchenaid|hellofresh|bluebottle|traderjoes|lecreuset|wholefoods",
        "family": "pampers|fisherprice|lego|carters|babybjorn|huggies",
        "pet": "chewy|purina|barkbox|petco|kong|royalcanin",
        "interior": "ikea|westelm|hmhome|zarahome|potterybarn|anthropologie",
        "travel": "airbnb|lonelyplanet|expedia|booking|gopro|emirates",
        "other": "fender|spotify|playstation|canon|adobe|twitch",
    }
)


def _items(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


GENERIC_HASHTAGS = _items(
    "instagood|photooftheday|love|happy|picoftheday|instadaily|me|tbt|weekend|goodvibes|mood|blessed"
)
OPENERS = _items(
    "Obsessed with|Loving|New on the blog:|Today's|Can't get enough of|Sharing my|Finally tried|"
    "My favourite|All about|Here's to"
)
CALLS = _items(
    "What do you think?|Save this for later!|Details in my stories.|Which one is your pick?|"
    "More coming soon.|Tell me in the comments!"
)
EMOJI = _items("✨|💫|🔥|🙌|💛|🌿|☀️|😍")
CASUAL_START = _items(
    "finally some|cant stop thinking about|quick|random|sunday|more|lazy day with|just|"
    "another day another|currently"
)
CASUAL_END = _items("lol|😅|!!|tbh|again||☕|haha")
SELFIE = _items(
    "selfie sunday|new hair who dis|just me|mood|feeling cute today|good vibes only|golden hour|"
    "no filter needed"
)
LINK_IN_BIO = _items(
    "New post is live, link in bio! #linkinbio|Shop my favourites, link in bio 🔗 #linkinbio|"
    "New video up now, link in bio #linkinbio #newvideo|Q&A is up, link in bio!"
)
GIVEAWAY = (
    "GIVEAWAY 🎁 To enter: follow @{me}, like this post and tag 3 friends. "
    "Winner announced friday! #giveaway #contest #win"
)
GENERIC_KINDS = ("selfie", "giveaway", "link_in_bio")

# Paid posts (see text.paid_text). A commercial caption line names the brand and sells: {brand}
# is the brand's account, {code} a discount code, {pct} a percentage.
AD_LINES = _items(
    "Use my code {code} for {pct}% off at @{brand}|Shop it now at @{brand}, link in bio|"
    "Now available at @{brand}, grab yours before it sells out|New launch from @{brand}, get yours today|"
    "{pct}% off at @{brand} this week only with code {code}|"
    "Limited edition drop from @{brand}, swipe to shop|"
    "Tap the tag to shop @{brand}|Get {pct}% off your first order at @{brand} with {code}"
)
# A brand named without selling: what organic mentions and uncommercial paid posts say.
BRAND_LINES = _items(
    "with my @{brand} favourite|still loving @{brand}|my old @{brand} piece|thanks @{brand}|"
    "wearing @{brand}|using @{brand} again|a little @{brand} moment|@{brand} forever"
)
# What an unpaid post says when it sounds commercial anyway (the world's noise for the ad head).
COMMERCIAL_NOISE = _items(
    "link in bio for everything I use|shop my feed in bio|the sale is on, go go go|found it on sale!"
)
# Disclosure markers the generator writes, each one in training.sponsorship.markers' lists.
DISCLOSURE_TAGS_EN = _items("ad|sponsored|spon|paidpartnership|advertisement|partner")
DISCLOSURE_TAGS_OTHER = _items("werbung|anzeige|publicidad|publi|sponsorisé|sponsorizzato|gesponsord|reklam")
# Phrases stand on a line of their own, so masking them leaves no trace (training.sponsorship.markers).
DISCLOSURE_PHRASES_EN = _items("Paid partnership|PAID PARTNERSHIP")
DISCLOSURE_PHRASES_OTHER = _items(
    "Bezahlte Partnerschaft|Colaboración pagada|Parceria paga|Partenariat rémunéré|"
    "Collaborazione retribuita|Betaald partnerschap"
)
