"""Live harvesting: arXiv OAI-PMH, the arXiv API (add by id) and the Hugging Face daily papers API.

Modules by noun: :mod:`.client` (the paced, retrying HTTP client), :mod:`.oai`, :mod:`.hf`,
:mod:`.arxiv_api`, :mod:`.report`.  Nothing is imported here so that ``paperscope --help``
does not pay for httpx.
"""
