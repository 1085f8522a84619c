"""Matrix fragments (snippets): small matrices cut out of Hi-C maps by loci or along a
chromosome, for pile-up tools such as HiPiler (docs/fragments.md)."""
