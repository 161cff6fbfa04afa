"""The lexical signs of text addressed to a model rather than to a reader (used by rag/screen.py).

Each family is a tuple of regular expressions; a sentence matching any of them is screened out.
Every pattern needs a cue news prose does not use: a model named as the addressee, the model's
own output or instructions as the object, a chat role or template token, markup, or a
citation marker. Talk *about* AI ("chatbots must be labelled") is left alone where it can be.
False positives are measured on real news by bench/injection_screen.py.
"""

from __future__ import annotations

import re

# Words naming the model as an addressee; product names only where they are spoken to.
AI = (r"(?:AI|A\.I\.|LLMs?|GPT(?:-?\d\w*)?s?|ChatGPT|chat\s?bots?|bots?|summari[sz]ers?|"
      r"artificial\s+intelligences?|(?:large\s+)?language\s+models?|(?:AI|virtual|digital)\s+"
      r"assistants?|(?:AI|A\.I\.)\s+(?:models?|systems?|agents?|tools?|crawlers?|readers?)|"
      r"automated\s+(?:assistants?|systems?|tools?|agents?|readers?|summar(?:y|ies)))")
NAMED = rf"(?:{AI}|Claude|Gemini|Copilot|Bing|Bard|Llama|Mistral)"
OUTPUT = r"(?:answers?|responses?|replies|reply|outputs?|summar(?:y|ies)|completions?)"
DOCUMENT = r"(?:article|page|story|text|document|report|post|content|site|paragraph)s?"
# An imperative: at the start of the sentence or clause, or after a modal or "please".
IMPERATIVE = (r"(?:^\W*|[:;,.!?]\s*|\b(?:please|kindly|must|should|always|now|then|also|instead|"
              r"and|just)\s+)")
LANGUAGES = (r"(?:French|Spanish|German|Italian|Portuguese|Russian|Chinese|Mandarin|Japanese|"
             r"Korean|Arabic|Hindi|Dutch|Polish|Turkish|Latin|Klingon|pig\s+latin|emojis?|"
             r"uppercase|capital\s+letters|another\s+language|a\s+different\s+language)")
_INSTRUCTIONS = r"(?:instructions?|prompts?|directives?|directions|commands|rules|guidelines)"

OVERRIDE = (
    r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+|"
    r"my\s+|these\s+|those\s+)?(?:previous|prior|preceding|above|earlier|original|initial|system|"
    r"safety|developer)\s+(?:instructions?|prompts?|directives?|directions|rules|guidelines|"
    r"messages?|context|guidance)",
    r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+(?:of\s+)?)?your\s+(?:\w+\s+)?"
    r"(?:instructions|prompt|programming|guardrails|rules|guidelines|training)",
    r"\b(?:ignore|disregard|forget)\s+(?:everything|all)\s+(?:above|before|previously|you\s+"
    r"(?:were|have\s+been)\s+told)",
    r"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+|everything\s+)?(?:of\s+)?(?:the\s+)?"
    rf"(?:above|previous|prior|preceding|earlier)\s*(?:[.,;:!]|and\b|$|{_INSTRUCTIONS})",
    rf"\b(?:previous|prior|earlier|above|all\s+other)\s+(?:{_INSTRUCTIONS}|guidance)\s+(?:is|are)"
    r"\s+(?:now\s+)?(?:void|null|overridden|revoked)",
    r"\bnew\s+(?:task|instructions?|system\s+(?:message|prompt|instructions?)|directive|prompt)"
    r"\s*:|\b(?:begin|start)\s+(?:a\s+)?new\s+(?:task|session|conversation|instructions?)\b",
    r"\byour\s+(?:new|real|actual|true|next)\s+(?:task|instructions?|objective|goal)\s+"
    r"(?:is|are|now)\b",
    r"\b(?:admin|system|developer|operator)\s+override\b",
    rf"{IMPERATIVE}(?:ignore|disregard|forget|discard)\s+(?:the|this|my|that|your|all)\s+(?:above\s+|"
    r"previous\s+|preceding\s+|original\s+)?(?:user(?:'s|’s)?\s+)?(?:question|query|request|task|article|sources?|context|text)\b",
    r"\b(?:discard|ignore|disregard)\s+(?:the|all|your)\s+sources\b|\bfrom\s+your\s+own\s+"
    r"knowledge\b|\bwhatever\s+you\s+(?:were|have\s+been)\s+told\b",
    r"\b(?:the\s+)?(?:rules|instructions|guidelines|directions)\s+you\s+(?:were|have\s+been)\s+"
    r"given\b|\bstop\s+following\s+(?:your|the)\s+(?:rules|instructions|guidelines)",
    r"\byour\s+(?:updated|new|revised|real|actual|true)\s+(?:instructions|directives|rules|task|"
    r"orders)\b",
)
REVEAL = (
    r"\b(?:your|my|its|the\s+(?:assistant|model|AI|chatbot)(?:'s|’s))\s+(?:system|developer|initial|"
    r"hidden|secret|original|real|actual|true)\s+(?:prompt|instructions)\b",
    r"\b(?:real|actual|true)\s+prompt\b",
    r"\b(?:real|actual|true)\s+instructions\s+(?:are|is|follow)\b",
    r"\byour\s+(?:hidden|secret|internal|original|initial|system)\s+(?:rules|instructions|prompt|"
    r"guidelines|configuration)",
    r"\b(?:reveal|print|repeat|output|disclose|leak|recite)\s+(?:\w+\s+){0,3}?(?:your|the)\s+"
    r"(?:\w+\s+)?(?:prompt|instructions|configuration)\b",
)
ADDRESSEE = (
    rf"\b(?:attention|note|notice|message|instructions?|memo|reminder|warning)\s*(?:to|for)\s+"
    rf"(?:all\s+|any\s+|the\s+)?{NAMED}",
    rf"\b(?:dear|hey|hi|hello)\s+{NAMED}",
    rf"^\W*(?:attention|listen|note|hey|hello|dear)\W+(?:all\s+|any\s+)?{AI}\s*[,:!]",
    rf"\b(?:note|message|memo|instructions?|attention)\s+(?:is\s+)?(?:to|for)\s+(?:the\s+|any\s+|"
    rf"all\s+)?(?:assistant|model|{AI})\s*[:\],;.]",
    r"\bnot\s+(?:meant\s+|intended\s+|written\s+)?for\s+human\s+(?:readers|eyes)\b|\bfor\s+"
    r"(?:machine|AI)\s+readers\b|\b(?:hidden|secret|special)\s+(?:instructions?|directive|"
    r"command)\s*:",
    rf"^\W*(?!AI\s*:)(?:assistant|model|{AI})\s*[,:!]",
    rf"\b{AI}\s+(?:notice|directive|instructions?)\b",
    rf"\b(?:for|to)\s+(?:the\s+)?(?:assistant|model|{AI})\s+only\b|\bfor\s+{AI}\s*:",
    rf"\binstructions?\s+(?:for|to)\s+(?:the\s+)?(?:model|assistant|{AI})\b",
    r"\bcontains?\s+(?:hidden\s+)?instructions\b",
    rf"\b(?:this|the\s+following|the\s+next)\s+(?:part|section|paragraph|passage|text|note|"
    rf"message|sentences?|lines?|bit)\s+(?:is|are|applies|apply)\s+(?:only\s+)?(?:meant\s+|"
    rf"intended\s+|written\s+)?(?:for|to)\s+(?:the\s+|any\s+|all\s+)?(?:assistants?|models?|{AI})\b",
    r"\b(?:pretend|act|behave|role-?play)\s+(?:to\s+be|you\s+are|as\s+if\s+you\s+(?:are|were)|"
    r"as)\s+(?:an?\s+|the\s+)?(?:(?:unfiltered|unrestricted|different|evil|jailbroken)\s+\w+|"
    r"(?:\w+\s+)?(?:AI|chatbot|DAN|user)\b)",
    rf"\b(?:if|when|since)\s+you\s+are\s+an?\s+{AI}",
    r"\b(?:model|assistant|AI|bot|chatbot|automated\s+(?:system|assistant|tool|agent)|crawler)s?\s+"
    r"(?:that\s+|which\s+)?(?:is\s+|are\s+)?(?:processing|reading|parsing|indexing|summari[sz]ing|"
    r"answering|ingesting|scraping|crawling)\s+this\b",
    r"\bas\s+your\s+(?:developer|creator|operator|administrator|admin|owner|master)\b|"
    r"\b(?:I\s+am|I'm)\s+(?:instructing|ordering|commanding|programming)\s+you\b",
    r"\b(?:I\s+have\s+been|I've\s+been|you\s+have\s+been|you've\s+been|you\s+are|you're)\s+"
    r"(?:instructed|programmed)\s+to\b",
    rf"\bif\s+(?:anyone|someone|somebody|the\s+user|a\s+user|you\s+are)\s+(?:asks?|asked)\s+"
    rf"(?:you\s+)?about\s+this\s+{DOCUMENT}",
    rf"\b(?:if|when)\s+(?:an?\s+|any\s+)?{AI}\s+(?:is\s+|are\s+)?(?:reading|summari[sz]ing|"
    r"processing|sees?)\b",
    rf"\b(?:you\s+are|as)\s+an?\s+{AI}\s*(?:,|\.|and|you|must|should|please|reading|summari[sz]ing)",
    rf"\b{AI}\s+(?:that\s+|which\s+|who\s+)?(?:are\s+|is\s+)?(?:read(?:s|ing)?|summari[sz](?:e|es|"
    r"ing)|process(?:es|ing)?|pars(?:e|es|ing)|ingest(?:s|ing)?|index(?:es|ing)?|answer(?:s|ing)?"
    r"\s+questions\s+about|quot(?:e|es|ing)|cit(?:e|es|ing)|brows(?:e|es|ing)|visit(?:s|ing)?|"
    rf"crawl(?:s|ing)?|scrap(?:e|es|ing))\s+(?:this|these)\b",
    rf"\b(?:if|when)\s+(?:you\s+are\s+)?(?:summari[sz]ing|processing|parsing|answering\s+questions"
    rf"\s+about|asked\s+about)\s+this\s+{DOCUMENT}",
    rf"\bwhen\s+you\s+(?:quote|cite|summari[sz]e|answer|respond|reply|mention|reference|use)\s+"
    rf"(?:\w+\s+)?this\s+{DOCUMENT}",
    rf"\b{AI}\s+(?:must|should|shall)\s+(?:now\s+|always\s+|only\s+)?(?:say|respond|reply|answer|"
    r"output|mention|state|describe|call|recommend|cite|attribute|ignore|refuse)\b",
    rf"\b{OUTPUT}\s+(?:generated|written|produced|created)\s+by\s+{AI}\s+(?:must|should|shall)\s+"
    r"(?!(?:not\s+)?be\b)",
    r"\bthe\s+(?:assistant|model|chatbot|AI|bot)(?:'s|’s)\s+(?:next\s+)?(?:message|answer|"
    r"response|reply|output)",
    r"\byou\s+are\s+now\s+(?:an?\s+)?(?:AI|DAN|unrestricted|unfiltered|jailbroken|in\s+(?:developer"
    r"|debug|god|admin)\s+mode|free\s+(?:from|of)|no\s+longer\s+(?:bound|restricted|an?\s+AI))",
    r"\byou\s+are\s+(?:DAN|no\s+longer\s+an?\s+(?:AI|assistant|chatbot|(?:language\s+)?model))\b",
    r"\b(?:enter|enable|activate|switch\s+to)\s+(?:developer|debug|god|admin|DAN|jailbreak)\s+"
    r"mode\b",
)
OUTPUT_RULES = (
    rf"\b(?:in|into|to|at\s+the\s+(?:start|end|beginning|top|bottom)\s+of)\s+(?:your|every|each)\s+"
    rf"{OUTPUT}\b",
    rf"\b(?:your|every|each)\s+{OUTPUT}\s+(?:must|should|shall|has\s+to|needs\s+to|will)\b",
    rf"\b(?:every|each|all|any)\s+{OUTPUT}\s+(?:\w+\s+)?(?:ends?|begins?|starts?|closes?|opens?|"
    r"finish(?:es)?)\s+with\b",
    rf"\b(?:begin|start|end|finish|sign|prefix|conclude)\s+(?:your|every|each|all)\s+(?:{OUTPUT}|"
    r"messages?)\b",
    rf"\b(?:write|format|give|return|structure)\s+(?:your|the)\s+{OUTPUT}\s+(?:as|in)\b",
    rf"\b(?:respond|reply|answer|write|speak)\s+(?:to\s+(?:the\s+)?(?:users?|readers?)\s+)?"
    rf"(?:only|exclusively|solely|entirely|from\s+now\s+on)\s+in\s+{LANGUAGES}",
    rf"\b(?:respond|reply|answer|write|speak)\s+in\s+{LANGUAGES}\s+only\b",
    rf"\b(?:respond|reply|answer|write|speak)\s+(?:to\s+)?(?:the\s+)?(?:users?|readers?|them|me)\s+"
    rf"(?:only\s+)?in\s+{LANGUAGES}",
    r"\byou\s+(?:will|must|shall|should)\s+(?:now\s+(?:only\s+)?|only\s+)(?:respond|reply|answer|"
    r"speak|write|output|say)\b",
    rf"\b(?:when|while|before|after)\s+(?:generating|writing|composing|producing|formulating|"
    rf"preparing)\s+your\s+{OUTPUT}",
    r"\b(?:do\s+not|don't|never)\s+(?:summari[sz]e|cite|quote|reveal|mention|disclose|repeat)\s+"
    r"(?:this|these)\s+(?:article|text|page|note|instructions?|message|prompt|document)\b",
    r"\bonly\s+(?:respond|reply|answer)\s+in\b",
    r"\b(?:do\s+not|don't|never)\s+(?:follow|trust|use|rely\s+on)\s+(?:the|this)\s+(?:article|"
    r"text|sources?|story)\b",
    r"\b(?:print|repeat|output|show|copy)\s+(?:everything|all\s+(?:the\s+)?text|the\s+text)\s+"
    r"(?:above|before)\b|\brepeat\s+after\s+me\b",
    rf"(?:^\W*|\bfrom\s+now\s+on,?\s+)(?:please\s+)?(?:respond|reply|answer)\s+(?:only\s+|"
    rf"exclusively\s+)?(?:in\s+{LANGUAGES}|with\b)",
    rf"{IMPERATIVE}(?:respond|reply|answer)\s+(?:to\s+)?(?:every|each|all|any)\s+(?:questions?|"
    r"query|queries|prompts?|requests?|messages?)\b",
    rf"\btranslate\s+(?:your|the|this|every|each|all)\s+{OUTPUT}|{IMPERATIVE}translate\s+"
    rf"(?:\w+\s+){{0,3}}?(?:in)?to\s+{LANGUAGES}",
    rf"\b(?:any|every|each|all|the|your)\s+{OUTPUT}\s+(?:of|about|on|for|to)\s+(?:questions\s+about"
    rf"\s+)?this\s+{DOCUMENT}\s+(?:must|should|shall|has\s+to|needs\s+to|will\s+(?:say|state|"
    r"mention|include))\b",
    rf"{IMPERATIVE}(?:say|write|output|print|type|reply\s+with|respond\s+with|answer\s+with|"
    r"include|insert|append|add|mention|repeat)\s+(?:only\s+|just\s+|exactly\s+)?(?:the\s+)?"
    r"(?:following\s+)?(?:code\s*word|secret\s+word|password|passphrase|magic\s+word|keyword|"
    r"token|string|phrase|word|sentence|text|link|url)s?\b",
    r"(?:^\W*|[:;,.!?]\s*|\b(?:please|kindly|just|then|instead)\s+)(?:tell|inform|convince)\s+"
    r"(?:the\s+)?(?:users?|readers?|person\s+asking|people\s+asking|questioner)\b",
    rf"{IMPERATIVE}summari[sz]e\s+this\s+{DOCUMENT}",
    r"\bbefore\s+you\s+(?:respond|answer|reply)\b|^\W*before\s+(?:answering|responding|"
    r"replying)\b",
    rf"\b(?:this|these|the\s+above|my|our)\s+{_INSTRUCTIONS}\s+(?:to|from|with)\s+(?:the\s+)?"
    r"(?:users?|readers?)\b",
    r"\b(?:cite|credit|attribute)\s+(?:only\s+)?(?:it\s+|this\s+\w+\s+)?(?:as\s+|to\s+)?(?:\[|"
    r"(?:article|source|document|reference)\s+(?:#\s*)?\d)",
)
USER = (
    r"\b(?:message|note|instructions?|request|update|correction)\s+from\s+(?:the\s+)?(?:user|"
    r"developer|system|administrator|admin|operator)\s*[:\-—]",
    r"\b(?:I\s+am|I'm|this\s+is)\s+(?:the|your)\s+(?:user|developer|creator|operator|system\s+"
    r"administrator)\b(?!\s+(?:of|for|at|in)\b)",
    r"\bthe\s+user(?:'s|’s)?\s+(?:real|actual|true|new|updated|original)\s+(?:question|request|"
    r"query|instructions?)|\bthe\s+user(?:'s|’s)\s+(?:question|query|prompt)",
    r"\b(?:tell|answer|reply\s+to|respond\s+to|inform|remind|ask)\s+the\s+user\b",
)
ROLE_CASED = (
    r"(?:^|[.!?\"“'(\[>*#]\s*)(?:#+\s*)?(?:SYSTEM|System|USER|User|ASSISTANT|Assistant|HUMAN|Human|"
    r"DEVELOPER|Developer)\s*(?:says|said|writes|asks)?\s*:",
    r"\b(?:ADMIN|SYSTEM|DEVELOPER|OPERATOR)\s+[A-Z]{4,}\b|\[\s*(?:ADMIN|SYSTEM|DEVELOPER|OPERATOR)\b",
)
ROLE = (
    r"#{2,}\s*(?:Instruction|Response|System|Input|Human|Assistant|User)s?\b",
    r"\[/?INST\]|<</?SYS>>|<\|[\w.-]{1,40}\|>|</?s>|<(?:start|end)_of_turn>|\[\s*system\s*\]\s*\(#",
    r"\[/?(?:user|assistant|system|human)\]|[\"']role[\"']\s*:\s*[\"'](?:system|user|assistant|"
    r"developer)",
)
MARKUP_CASED = (r"<\s*/?\s*[A-Za-z][\w-]*(?:\s+[^<>]*)?/?\s*>",)
MARKUP = (
    r"<!--|-->|!\[[^\]]*\]\(|\[[^\]]*\]\(\s*(?:https?:|javascript:|data:|mailto:|#)|"
    r"\bjavascript\s*:|\bdata:text/html|\bon(?:error|load|click)\s*=",
)
MARKER = (
    r"\[\^?\s*\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*\s*\]|【[^】]{0,30}】|"
    r"[\[(]\s*(?:S|source|src|doc|document|ref|cite|citation)\s*[:#]?\s*\d{1,3}\s*[\])]",
)

# Other languages: a note or order to an AI system in Spanish, Portuguese, Italian, French,
# German or Chinese (the model reads them all). Each needs the AI named as the addressee.
_AI_FOREIGN = (r"(?:IA|KI|AI|asistentes?|assistent[ei]s?|assistants?|Assistent(?:en)?|"
               r"inteligencia\s+artificial|intelig[êe]ncia\s+artificial|intelligenza\s+"
               r"artificiale|intelligence\s+artificielle|k[üu]nstliche[rn]?\s+Intelligenz|"
               r"mod[eè]l[eo]s?\s+(?:de|di)\s+(?:lenguaje|linguagem|langage|linguaggio)|"
               r"Sprachmodell(?:e|en)?|KI-\w+|chatbots?)")
FOREIGN = (
    rf"\b(?:nota|atenci[óo]n|aten[çc][ãa]o|attenzione|avviso|note|avis|attention|hinweis|"
    rf"achtung|anweisung|mitteilung)\s+(?:para|a|à|aux|al|ai|agli|alle|an|f[üu]r|pour)\s+"
    rf"(?:(?:los|las|la|el|les|le|os|as|o|die|den|der|alle|todos\s+los|tous\s+les)\s+)?"
    rf"{_AI_FOREIGN}",
    r"\b(?:ignora|ignore[sz]?|ignoriere|ignorieren\s+Sie|olvida|oubliez|vergiss|dimentica)\s+"
    r"(?:(?:todas|todos|toutes|tous|alle|tutte)\s+)?(?:las|los|les|die|le|as|os)\s+"
    r"(?:instrucciones|instructions|Anweisungen|istruzioni|instruções|consignes)\s*"
    r"(?:anteriores|précédentes|vorherigen|bisherigen|precedenti)?",
    rf"\b{_AI_FOREIGN}\s*[:,]?\s+(?:\w+\s+){{0,3}}?(?:deben|debe|devem|deve|devono|doivent|"
    r"devez|m[üu]ssen|muss|sollen|soll)\s+(?:\w+\s+)?(?:responder|decir|afirmar|dizer|"
    r"rispondere|dire|répondre|affirmer|antworten|sagen|behaupten)\b",
    r"\b(?:vous\s+devez|tu\s+dois|debes|usted\s+debe|voc[êe]\s+deve|devi|du\s+musst|Sie\s+"
    r"m[üu]ssen)\s+(?:toujours\s+|siempre\s+|sempre\s+|immer\s+)?(?:répondre|responder|"
    r"rispondere|antworten|dire|decir|dizer|sagen)\b",
    r"^\W*(?:antworte|antworten\s+Sie|responde|réponds|répondez|rispondi|responda)\b",
    r"(?:AI|人工智能|语言模型|聊天机器人)(?:助手|模型|系统)?(?:请注意|注意)|(?:忽略|无视)(?:之前|以上|"
    r"前面)(?:的)?(?:所有)?(?:指令|指示|说明)|回答时(?:必须|务必|一定要)|(?:必须|务必)(?:回答|说)|"
    r"AIアシスタント|(?:以前|前)の指示を無視",
)

FAMILIES: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("override", OVERRIDE, re.I), ("reveal", REVEAL, re.I), ("addressee", ADDRESSEE, re.I),
    ("output", OUTPUT_RULES, re.I), ("user", USER, re.I), ("role", ROLE_CASED, 0),
    ("role", ROLE, re.I), ("markup", MARKUP_CASED, 0), ("markup", MARKUP, re.I),
    ("marker", MARKER, re.I), ("foreign", FOREIGN, re.I),
)
