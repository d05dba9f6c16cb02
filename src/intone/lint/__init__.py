"""What is wrong with a dataset: the rule table, the rules, the engine and the reporters."""
