#!/usr/bin/perl
# pod2text without the code: formats one POD file as plain text with each paragraph on one line
# (a very wide width) and verbatim (indented code) blocks dropped.  Usage: pod2para.pl IN.pod OUT.txt
use strict;
use warnings;

package ProseOnly;
use parent 'Pod::Text';
sub cmd_verbatim { return '' }    # indented code blocks are not prose
sub cmd_i { return $_[2] }        # italics without the *asterisks*
sub cmd_f { return $_[2] }

package main;
my ($in, $out) = @ARGV;
my $parser = ProseOnly->new(width => 1_000_000, indent => 0, margin => 0, sentence => 0,
                            quotes => 'none', errors => 'none', utf8 => 1);
$parser->parse_from_file($in, $out);
